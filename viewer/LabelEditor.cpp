#include "viewer/LabelEditor.h"

#include <vtkImageData.h>
#include <vtkLookupTable.h>
#include <vtkPointData.h>
#include <vtkUnsignedCharArray.h>
#include <vtkUnsignedShortArray.h>

#include <algorithm>
#include <map>
#include <optional>

namespace radmark::viewer {

namespace {
constexpr double brushStepMm = 0.5;
constexpr double smallestBrushMm = 0.5;
constexpr double largestBrushMm = 100;

bool hasKind(const QString& name, annotation::ToolKind kind) {
    const annotation::ToolDescription* tool = LabelEditor::toolDescription(name);
    return tool && tool->kind == kind;
}
} // namespace

struct LabelEditor::Private {
    const imaging::Volume* volume = nullptr;
    std::unique_ptr<annotation::LabelMap> labels;
    annotation::SegmentList segments;
    annotation::BoxList boxes;
    annotation::UndoHistory history;
    annotation::Label activeSegment = 1;
    vtkSmartPointer<vtkImageData> image;
    vtkSmartPointer<vtkLookupTable> colours;
    vtkSmartPointer<vtkLookupTable> outlineColours;

    QString toolName;                                         // "" = navigation
    const annotation::ToolDescription* description = nullptr; // of toolName; null: navigation
    // One instance per tool, made when first used, so its settings survive switching tools.
    std::map<std::string, std::unique_ptr<annotation::Tool>> tools;
    annotation::Tool* tool = nullptr; // the selected annotation tool
    bool toolBound = false;           // bound to the current annotation
    double brushRadiusMm = 5;
    bool sphereBrush = false;
    std::optional<std::pair<double, double>> shownRange;
    std::uint64_t voxelsBeforeSeed = 0; // a seeded edit's size is the increase since the click
    std::optional<imaging::Index3> seed;
};

LabelEditor::LabelEditor(QObject* parent) : QObject(parent), d(new Private) {}

LabelEditor::~LabelEditor() = default;

void LabelEditor::startAnnotation(const imaging::Volume* volume) {
    finishOpenEdit(); // edits of the previous annotation go with it
    d->toolBound = false;
    d->history.clear();
    d->boxes = annotation::BoxList(volume ? volume->geometry().dims : imaging::Index3{0, 0, 0});
    d->segments = {};
    d->image = nullptr;
    d->colours = nullptr;
    d->labels.reset();
    d->volume = volume;
    if (!volume || volume->empty()) {
        emit annotationReplaced();
        return;
    }
    d->labels = std::make_unique<annotation::LabelMap>(volume->geometry());
    d->activeSegment = d->segments.add("Segment 1", annotation::Rgb{230, 60, 60}).label;

    const imaging::Geometry& g = volume->geometry();
    auto array = vtkSmartPointer<vtkUnsignedCharArray>::New();
    // The label map keeps its buffer for its lifetime; VTK only reads it (save = 1: not freed).
    array->SetVoidArray(const_cast<std::uint8_t*>(d->labels->data()),
                        vtkIdType(d->labels->voxelCount()), 1);
    array->SetName("labels");
    d->image = vtkSmartPointer<vtkImageData>::New();
    d->image->SetDimensions(g.dims[0], g.dims[1], g.dims[2]);
    d->image->SetSpacing(g.spacing[0], g.spacing[1], g.spacing[2]);
    d->image->SetOrigin(0, 0, 0);
    d->image->GetPointData()->SetScalars(array);

    rebuildColours();
    bindSelectedTool();
    emit annotationReplaced();
}

// Fills the colour tables from the segments, in place when the views already hold them.
void LabelEditor::rebuildColours() {
    for (auto* table : {&d->colours, &d->outlineColours}) {
        if (!*table)
            *table = vtkSmartPointer<vtkLookupTable>::New();
        (*table)->SetNumberOfTableValues(256);
        (*table)->SetTableRange(0, 255);
        for (int value = 0; value < 256; ++value)
            (*table)->SetTableValue(value, 0, 0, 0, 0);
    }
    for (const annotation::Segment& segment : d->segments.all()) {
        if (segment.label > 255 || !segment.visible)
            continue;
        const bool outline = segment.display == annotation::SegmentDisplay::Outline;
        // An outline is a thin line: drawn opaque so it stays visible at any opacity.
        (outline ? d->outlineColours : d->colours)
            ->SetTableValue(segment.label, segment.colour.r / 255.0, segment.colour.g / 255.0,
                            segment.colour.b / 255.0, outline ? 1.0 : segment.opacity);
    }
    for (auto* table : {&d->colours, &d->outlineColours}) {
        (*table)->Build();
        (*table)->Modified();
    }
}

bool LabelEditor::continueFrom(const annotation::OpenedAnnotation& opened) {
    if (!d->labels || !opened.labels.geometry().sameGridAs(d->labels->geometry()) ||
        opened.labels.width() != d->labels->width() || opened.segments.all().empty())
        return false;
    finishOpenEdit();
    d->history.clear();
    // Copied into the buffer the overlay already wraps, so the views keep their binding.
    for (int chunk = 0; chunk < d->labels->chunkCount(); ++chunk) {
        const auto from = opened.labels.chunkBytes(chunk);
        const auto to = d->labels->chunkBytesForWriting(chunk);
        std::copy(from.begin(), from.end(), to.begin());
    }
    d->segments = opened.segments;
    d->boxes.replaceAll(opened.boxes.all());
    d->activeSegment = d->segments.all().front().label;
    d->labels->setReadOnly(opened.labels.readOnly());
    rebuildColours();
    bindSelectedTool();
    overlayModified();
    emit annotationReplaced();
    return true;
}

annotation::Label LabelEditor::addSegment(annotation::Segment segment) {
    if (!d->labels)
        return 0;
    segment.label = annotation::Label(d->segments.highestLabel() + 1);
    if (segment.label > d->labels->maxLabel()) {
        emit statusMessage(tr("No more segments fit in this annotation."));
        return 0;
    }
    const annotation::Label label = d->segments.add(std::move(segment)).label;
    rebuildColours();
    emit segmentsChanged();
    setActiveSegment(label);
    return label;
}

void LabelEditor::editSegment(annotation::Label label,
                              const std::function<void(annotation::Segment&)>& edit) {
    annotation::Segment* segment = d->segments.find(label);
    if (!segment)
        return;
    edit(*segment);
    segment->label = label; // the label value is the segment's identity in the voxels
    rebuildColours();
    bindSelectedTool(); // tools read locks when they open a stroke
    overlayModified();
    emit segmentsChanged();
}

void LabelEditor::removeSegment(annotation::Label label) {
    if (!d->labels || !d->segments.find(label))
        return;
    if (d->labels->readOnly()) {
        emit statusMessage(tr("This version is read-only: start a new draft from it to edit."));
        return;
    }
    if (d->segments.size() <= 1) {
        emit statusMessage(tr("An annotation keeps at least one segment: rename it instead."));
        return;
    }
    finishOpenEdit(); // a stroke still open goes into the history before the history is cleared
    const annotation::VoxelRegion bounds = d->labels->boundsOf(label);
    if (!bounds.empty()) {
        for (int z = bounds.min[2]; z <= bounds.max[2]; ++z)
            for (int y = bounds.min[1]; y <= bounds.max[1]; ++y)
                for (int x = bounds.min[0]; x <= bounds.max[0]; ++x)
                    if (d->labels->at({x, y, z}) == label)
                        d->labels->set({x, y, z}, 0);
    }
    std::vector<std::uint32_t> boxIds;
    for (const annotation::Box& box : d->boxes.all())
        if (box.segment == label)
            boxIds.push_back(box.id);
    for (std::uint32_t id : boxIds)
        d->boxes.remove(id);
    d->segments.remove(label);
    d->history.clear();
    if (d->activeSegment == label)
        d->activeSegment = d->segments.all().front().label;
    rebuildColours();
    bindSelectedTool();
    overlayModified();
    emit segmentsChanged();
    if (!boxIds.empty())
        emit boxesChanged();
    emit activeSegmentChanged(d->activeSegment);
}

void LabelEditor::setActiveSegment(annotation::Label label) {
    if (!d->segments.find(label) || label == d->activeSegment)
        return;
    d->activeSegment = label;
    bindSelectedTool();
    emit activeSegmentChanged(label);
}

void LabelEditor::setReadOnly(bool readOnly) {
    if (!d->labels)
        return;
    finishOpenEdit();
    d->labels->setReadOnly(readOnly);
}

bool LabelEditor::readOnly() const {
    return d->labels && d->labels->readOnly();
}

void LabelEditor::editBoxes(const std::function<annotation::BoxChange(annotation::BoxList&)>& edit,
                            const std::string& description) {
    if (!d->labels)
        return;
    if (d->labels->readOnly()) {
        emit statusMessage(tr("This version is read-only: start a new draft from it to edit."));
        return;
    }
    annotation::BoxChange change;
    try {
        change = edit(d->boxes);
    } catch (const annotation::BoxError& error) {
        emit statusMessage(QString::fromStdString(error.what()));
        return;
    }
    if (change.before == change.after)
        return;
    finishOpenEdit(); // keeps the history in order: a stroke still open goes first
    annotation::UndoRecord record;
    record.description = description;
    record.boxes.push_back(std::move(change));
    d->history.push(std::move(record));
    emit boxesChanged();
}

annotation::LabelMap& LabelEditor::labelsForSaving() {
    finishOpenEdit(); // a saved version closes the edit being tuned
    static annotation::LabelMap none;
    return d->labels ? *d->labels : none;
}

const annotation::BoxList& LabelEditor::boxes() const {
    return d->boxes;
}

bool LabelEditor::hasAnnotation() const {
    return d->labels != nullptr;
}

const annotation::LabelMap& LabelEditor::labels() const {
    static const annotation::LabelMap none;
    return d->labels ? *d->labels : none;
}

const annotation::SegmentList& LabelEditor::segments() const {
    return d->segments;
}

annotation::Label LabelEditor::activeSegment() const {
    return d->activeSegment;
}

const annotation::UndoHistory& LabelEditor::history() const {
    return d->history;
}

vtkImageData* LabelEditor::overlayImage() const {
    return d->image;
}

vtkLookupTable* LabelEditor::overlayColours() const {
    return d->colours;
}

vtkLookupTable* LabelEditor::outlineColours() const {
    return d->labels ? d->outlineColours.Get() : nullptr;
}

QStringList LabelEditor::toolList() {
    QStringList names{QString()};
    const auto tools = annotation::toolDescriptions();
    for (annotation::ToolKind kind : {annotation::ToolKind::Pointer, annotation::ToolKind::Box,
                                      annotation::ToolKind::WholeSegment}) {
        for (const annotation::ToolDescription& tool : tools) {
            if (tool.kind == kind)
                names << QString::fromStdString(tool.name);
        }
    }
    return names;
}

const annotation::ToolDescription* LabelEditor::toolDescription(const QString& name) {
    return name.isEmpty() ? nullptr : annotation::findTool(name.toStdString());
}

QString LabelEditor::toolTitle(const QString& name) {
    if (name.isEmpty())
        return tr("Navigate");
    const annotation::ToolDescription* tool = toolDescription(name);
    return tool ? QString::fromStdString(tool->title) : name;
}

bool LabelEditor::isBrush(const QString& name) {
    const annotation::ToolDescription* tool = toolDescription(name);
    return tool && tool->brush;
}

bool LabelEditor::isWholeSegmentTool(const QString& name) {
    return hasKind(name, annotation::ToolKind::WholeSegment);
}

bool LabelEditor::selectTool(const QString& name) {
    const annotation::ToolDescription* description = toolDescription(name);
    if (!name.isEmpty() && !description)
        return false;
    if (name == d->toolName)
        return true;
    finishOpenEdit();
    d->toolName = name;
    d->description = description;
    // Box tools have no Tool object: BoxInteraction draws them.
    d->tool = description && description->kind != annotation::ToolKind::Box
                  ? &toolNamed(description->name)
                  : nullptr;
    if (d->tool && description->brush) {
        d->tool->settings().set("radius_mm", d->brushRadiusMm);
        d->tool->settings().set("sphere", d->sphereBrush ? 1 : 0);
    }
    bindSelectedTool();
    emit toolChanged(name);
    const QString title = toolTitle(name);
    if (!description) {
        emit statusMessage(tr("Navigation"));
    } else if (description->brush) {
        emit statusMessage(brushText());
    } else if (description->regrowsFromSeed && description->intensityRange) {
        emit statusMessage(tr("%1: click a voxel inside the structure (range %2 to %3)")
                               .arg(title)
                               .arg(d->tool->settings().get("lower"))
                               .arg(d->tool->settings().get("upper")));
    } else if (description->regrowsFromSeed) {
        emit statusMessage(tr("%1: click a voxel inside the structure").arg(title));
    } else if (description->kind == annotation::ToolKind::WholeSegment) {
        emit statusMessage(tr("%1: set it up in the Tools panel, then Apply").arg(title));
    } else {
        emit statusMessage(tr("%1: drag in a slice view").arg(title));
    }
    return true;
}

QString LabelEditor::toolName() const {
    return d->toolName;
}

const annotation::Tool* LabelEditor::tool() const {
    return d->tool;
}

bool LabelEditor::pointerEdits() const {
    return !d->toolName.isEmpty() && !isWholeSegmentTool(d->toolName);
}

void LabelEditor::setMode(EditMode mode) {
    selectTool(mode == EditMode::Navigate ? QString()
               : mode == EditMode::Erase  ? QStringLiteral("erase")
                                          : QStringLiteral("paint"));
}

annotation::Tool& LabelEditor::toolNamed(const std::string& name) {
    auto& tool = d->tools[name];
    if (!tool) {
        tool = annotation::createTool(name);
        if (d->shownRange && tool->description().intensityRange) {
            tool->settings().set("lower", d->shownRange->first);
            tool->settings().set("upper", d->shownRange->second);
        }
        tool->settings().observe([this, name](const annotation::ToolSetting& setting) {
            onSettingChanged(name, setting);
        });
    }
    return *tool;
}

void LabelEditor::onSettingChanged(const std::string& toolName,
                                   const annotation::ToolSetting& setting) {
    const QString name = QString::fromStdString(toolName);
    const bool brush = isBrush(name);
    if (brush && setting.name == "radius_mm")
        d->brushRadiusMm = setting.value;
    if (brush && setting.name == "sphere")
        d->sphereBrush = setting.value >= 0.5;
    if (name != d->toolName)
        return;
    emit toolSettingChanged(QString::fromStdString(setting.name), setting.value);
    // The tool has already reacted (a region grow being tuned has regrown).
    if (d->toolBound && !d->tool->takeDirtyRegion().empty()) {
        overlayModified();
        if (d->description->regrowsFromSeed && d->seed)
            emit statusMessage(seedEditText(*d->seed));
    }
}

void LabelEditor::setToolSetting(const QString& key, double value) {
    if (!d->tool)
        return;
    try {
        d->tool->settings().set(key.toStdString(), value);
    } catch (const std::exception& error) { // ToolError, ReadOnlyAnnotation: a clear message
        emit statusMessage(QString::fromStdString(error.what()));
    }
}

bool LabelEditor::applyTool(const QString& name) {
    const QString which = name.isEmpty() ? d->toolName : name;
    if (!isWholeSegmentTool(which)) {
        emit statusMessage(
            tr("%1 works with the mouse in the slice views: there is nothing to apply.")
                .arg(toolTitle(which)));
        return false;
    }
    if (!d->labels) {
        emit statusMessage(tr("Open a study first."));
        return false;
    }
    finishOpenEdit();
    annotation::Tool& tool = toolNamed(which.toStdString());
    if (!bindTool(tool))
        return false;
    const QString segment = QString::fromStdString(d->segments.get(d->activeSegment).name);
    bool applied = false;
    std::size_t changed = 0;
    try {
        applied = tool.apply();
        while (auto record = tool.takeUndoRecord()) {
            changed += record->labels.changedVoxels();
            d->history.push(std::move(*record));
        }
    } catch (const std::exception& error) { // locked segment, read-only version
        refreshChangedLabels(tool);
        emit statusMessage(QString::fromStdString(error.what()));
        return false;
    }
    refreshChangedLabels(tool);
    if (changed > 0) {
        emit statusMessage(tr("%1 on \"%2\": %3 voxels changed (Ctrl+Z undoes it).")
                               .arg(toolTitle(which), segment)
                               .arg(changed));
    } else if (!applied && activeSegmentVoxels() == 0) {
        emit statusMessage(
            tr("%1: segment \"%2\" has no voxels yet.").arg(toolTitle(which), segment));
    } else if (applied || tool.description().needsOnSegment.empty()) {
        emit statusMessage(tr("%1 changed nothing on \"%2\".").arg(toolTitle(which), segment));
    } else {
        emit statusMessage(tr("%1 needs \"%2\" %3.")
                               .arg(toolTitle(which), segment,
                                    QString::fromStdString(tool.description().needsOnSegment)));
    }
    return changed > 0;
}

void LabelEditor::setShownIntensityRange(double lower, double upper) {
    d->shownRange = std::make_pair(lower, upper);
}

void LabelEditor::useShownIntensityRange() {
    if (!d->tool || !d->tool->description().intensityRange || !d->shownRange)
        return;
    setToolSetting(QStringLiteral("lower"), d->shownRange->first);
    setToolSetting(QStringLiteral("upper"), d->shownRange->second);
}

double LabelEditor::brushRadiusMm() const {
    return d->brushRadiusMm;
}

void LabelEditor::setBrushRadiusMm(double radius) {
    d->brushRadiusMm = std::clamp(radius, smallestBrushMm, largestBrushMm);
    if (isBrush(d->toolName))
        setToolSetting(QStringLiteral("radius_mm"), d->brushRadiusMm);
    emit statusMessage(brushText());
}

void LabelEditor::growBrush() {
    setBrushRadiusMm(d->brushRadiusMm + brushStepMm);
}

void LabelEditor::shrinkBrush() {
    setBrushRadiusMm(d->brushRadiusMm - brushStepMm);
}

bool LabelEditor::sphereBrush() const {
    return d->sphereBrush;
}

void LabelEditor::setSphereBrush(bool sphere) {
    d->sphereBrush = sphere;
    if (isBrush(d->toolName))
        setToolSetting(QStringLiteral("sphere"), sphere ? 1 : 0);
    emit statusMessage(brushText());
}

void LabelEditor::toggleSphereBrush() {
    setSphereBrush(!d->sphereBrush);
}

QString LabelEditor::brushText() const {
    const QString tool = isBrush(d->toolName) ? toolTitle(d->toolName) : tr("Brush");
    return tr("%1: %2, radius %3 mm ([ smaller, ] larger, Shift+S %4, Esc navigation)")
        .arg(tool, d->sphereBrush ? tr("3D sphere") : tr("2D disc"))
        .arg(d->brushRadiusMm, 0, 'f', 1)
        .arg(d->sphereBrush ? tr("disc") : tr("sphere"));
}

bool LabelEditor::bindTool(annotation::Tool& tool) {
    if (!d->labels)
        return false;
    annotation::ToolContext context;
    context.labels = d->labels.get();
    context.segments = &d->segments;
    context.image = d->volume;
    context.activeSegment = d->activeSegment;
    try {
        tool.activate(context);
        return true;
    } catch (const std::exception& error) {
        emit statusMessage(QString::fromStdString(error.what()));
        return false;
    }
}

void LabelEditor::bindSelectedTool() {
    finishOpenEdit();
    d->toolBound = d->tool && bindTool(*d->tool);
}

// Moves the selected tool's finished and still-open edits into the history, so no edit escapes
// it and the history stays in the order the edits were made.
void LabelEditor::finishOpenEdit() {
    if (!d->tool || !d->toolBound)
        return;
    while (auto record = d->tool->takeUndoRecord())
        d->history.push(std::move(*record));
}

std::uint64_t LabelEditor::activeSegmentVoxels() const {
    if (!d->labels)
        return 0;
    const auto counts = d->labels->voxelCounts();
    const auto found = counts.find(d->activeSegment);
    return found != counts.end() ? found->second : 0;
}

void LabelEditor::handlePointer(annotation::PointerPhase phase, const imaging::Index3& voxel,
                                int normalAxis) {
    if (!d->tool || !d->toolBound || d->description->kind != annotation::ToolKind::Pointer)
        return; // navigation, boxes (drawn elsewhere), whole-segment tools
    const bool seeded = d->description->regrowsFromSeed;
    try {
        if (phase == annotation::PointerPhase::Press) {
            finishOpenEdit(); // a region grow being tuned is done when the next click starts
            if (seeded) {
                d->voxelsBeforeSeed = activeSegmentVoxels();
                d->seed = voxel;
            }
        }
        d->tool->handle({phase, voxel, annotation::SliceAxis(normalAxis)});
        // Only after the release: taking a record finishes the open stroke (one per drag). A
        // seeded edit stays open so changing its range regrows inside the same undo step.
        if (phase == annotation::PointerPhase::Release && !seeded) {
            while (auto record = d->tool->takeUndoRecord())
                d->history.push(std::move(*record));
        }
        if (phase == annotation::PointerPhase::Press && seeded)
            emit statusMessage(seedEditText(voxel));
    } catch (const std::exception& error) { // ToolError, ReadOnlyAnnotation: a clear message
        emit statusMessage(QString::fromStdString(error.what()));
    }
    refreshChangedLabels(*d->tool);
}

void LabelEditor::refreshChangedLabels(annotation::Tool& tool) {
    if (!tool.takeDirtyRegion().empty())
        overlayModified();
}

QString LabelEditor::seedEditText(const imaging::Index3& seed) const {
    const QString title = toolTitle(d->toolName);
    const std::uint64_t grown = activeSegmentVoxels() - d->voxelsBeforeSeed;
    if (!d->description->intensityRange)
        return tr("%1: %2 voxels").arg(title).arg(grown);
    const double lower = d->tool->settings().get("lower"), upper = d->tool->settings().get("upper");
    const double value = d->volume->valueAt(seed[0], seed[1], seed[2]);
    if (value < lower || value > upper)
        return tr("%1: the clicked voxel (%2) is outside the range %3 to %4; nothing grown.")
            .arg(title)
            .arg(value)
            .arg(lower)
            .arg(upper);
    return tr("%1: %2 voxels (range %3 to %4; change the range in the Tools panel to regrow)")
        .arg(title)
        .arg(grown)
        .arg(lower)
        .arg(upper);
}

bool LabelEditor::undo() {
    if (!d->labels || d->labels->readOnly())
        return false;
    finishOpenEdit(); // a stroke still open is finished into the history first
    const auto done = d->history.undo(*d->labels, d->boxes);
    if (!done)
        return false;
    overlayModified();
    emit boxesChanged();
    emit statusMessage(tr("Undone: %1").arg(QString::fromStdString(*done)));
    return true;
}

bool LabelEditor::redo() {
    if (!d->labels || d->labels->readOnly())
        return false;
    finishOpenEdit(); // an open edit ends the redo chain, as any new edit does
    const auto done = d->history.redo(*d->labels, d->boxes);
    if (!done)
        return false;
    overlayModified();
    emit boxesChanged();
    emit statusMessage(tr("Redone: %1").arg(QString::fromStdString(*done)));
    return true;
}

void LabelEditor::overlayModified() {
    d->image->GetPointData()->GetScalars()->Modified();
    d->image->Modified();
    emit labelsChanged();
}

} // namespace radmark::viewer
