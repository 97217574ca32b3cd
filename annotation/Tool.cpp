#include "annotation/Tool.h"

#include <algorithm>

namespace radmark::annotation {

void ToolSettings::declare(std::string name, std::string label, double value, double minimum,
                           double maximum) {
    settings_.push_back({std::move(name), std::move(label), value, minimum, maximum});
}

ToolSetting& ToolSettings::find(std::string_view name) {
    auto it = std::find_if(settings_.begin(), settings_.end(),
                           [&](const ToolSetting& s) { return s.name == name; });
    if (it == settings_.end()) {
        throw ToolError("This tool has no setting called \"" + std::string(name) + "\".");
    }
    return *it;
}

double ToolSettings::get(std::string_view name) const {
    return const_cast<ToolSettings*>(this)->find(name).value;
}

void ToolSettings::set(std::string_view name, double value) {
    ToolSetting& setting = find(name);
    const double clamped = std::clamp(value, setting.minimum, setting.maximum);
    if (clamped == setting.value)
        return;
    setting.value = clamped;
    for (const auto& observer : observers_)
        observer(setting);
}

void ToolSettings::observe(std::function<void(const ToolSetting&)> observer) {
    observers_.push_back(std::move(observer));
}

Tool::Tool() {
    settings_.observe([this](const ToolSetting& s) { settingChanged(s); });
}

void Tool::activate(const ToolContext& context) {
    if (stroke_)
        finishStroke(std::string(name()));
    if (!context.labels || !context.segments) {
        throw ToolError("There is no annotation open to edit.");
    }
    // A segment label above 255 needs 16-bit labels; widen before any stroke keeps row copies.
    // Undo records hold voxel offsets and label values, so they stay valid across the switch.
    if (context.activeSegment > context.labels->maxLabel()) {
        if (context.labels->readOnly()) {
            throw ReadOnlyAnnotation(
                "This version is open read-only. Start a new draft from it to make changes.");
        }
        context.labels->widenToUInt16();
    }
    context_ = context;
}

bool Tool::handle(const PointerEvent&) {
    return false;
}
bool Tool::apply() {
    return false;
}

const ToolContext& Tool::context() const {
    if (!context_)
        throw ToolError("Choose an annotation before using this tool.");
    return *context_;
}

Stroke& Tool::stroke() {
    if (!stroke_) {
        const ToolContext& c = context();
        if (const Segment* s = c.segments->find(c.activeSegment); s && s->locked) {
            throw ToolError("Segment \"" + s->name + "\" is locked. Unlock it to edit it.");
        }
        stroke_.emplace(*c.labels, *c.segments);
    }
    return *stroke_;
}

void Tool::finishStroke(std::string description) {
    if (!stroke_)
        return;
    dirty_.include(stroke_->takeRecentChanges());
    LabelDelta delta = stroke_->finish();
    stroke_.reset();
    if (delta.empty())
        return;
    pending_.push_back(UndoRecord{std::move(description), std::move(delta), {}});
}

std::optional<UndoRecord> Tool::takeUndoRecord() {
    if (stroke_)
        finishStroke(std::string(name()));
    if (pending_.empty())
        return std::nullopt;
    UndoRecord record = std::move(pending_.front());
    pending_.pop_front();
    return record;
}

VoxelRegion Tool::takeDirtyRegion() {
    if (stroke_)
        dirty_.include(stroke_->takeRecentChanges());
    VoxelRegion region = dirty_;
    dirty_ = VoxelRegion{};
    return region;
}

bool Tool::transformActiveSegment(const Index3& pad,
                                  const std::function<RegionMask(const RegionMask&)>& transform,
                                  std::string description) {
    const ToolContext& c = context();
    const VoxelRegion bounds = c.labels->boundsOf(c.activeSegment);
    if (bounds.empty())
        return false;
    const VoxelRegion box = padRegion(bounds, pad, c.labels->geometry().dims);
    const RegionMask before = extractMask(*c.labels, c.activeSegment, box);
    const RegionMask after = transform(before);
    applyMaskChange(stroke(), before, after, c.activeSegment);
    finishStroke(std::move(description));
    return true;
}

} // namespace radmark::annotation
