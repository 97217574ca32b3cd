#pragma once
// The one contract every editing tool follows (paint, region grow, smoothing, ...): it is bound
// to an annotation with activate(), handles pointer events given in voxel coordinates on a slice
// plane and says whether it used them, or runs a whole-segment operation with apply(), and hands
// back one undo record per drag or apply. Tools know nothing of Qt or VTK; a thin interaction
// class in viewer/ turns mouse events into these calls. Settings are named numeric properties so
// a panel can bind to any tool generically.

#include "annotation/Box.h"
#include "annotation/LabelMap.h"
#include "annotation/MaskOperations.h"
#include "annotation/Segment.h"
#include "annotation/Stroke.h"
#include "annotation/UndoHistory.h"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace radmark::annotation {

// A tool cannot do what was asked (segment locked, no image, bad setting); the message is meant
// for the radiologist.
struct ToolError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct ToolContext {
    LabelMap* labels = nullptr;
    const SegmentList* segments = nullptr;
    const imaging::Volume* image = nullptr; // same grid as labels; needed by intensity tools
    Label activeSegment = 1;
};

enum class PointerPhase : std::uint8_t { Press, Drag, Release };

struct PointerEvent {
    PointerPhase phase = PointerPhase::Press;
    Index3 voxel{0, 0, 0};
    SliceAxis plane = SliceAxis::Axial; // the view the pointer is in
};

struct ToolSetting {
    std::string name;  // stable key, e.g. "radius_mm"
    std::string label; // for the panel, e.g. "Brush radius (mm)"
    double value = 0;
    double minimum = 0;
    double maximum = 0;
};

class ToolSettings {
  public:
    void declare(std::string name, std::string label, double value, double minimum, double maximum);
    double get(std::string_view name) const;       // throws ToolError for an unknown name
    void set(std::string_view name, double value); // clamped to the range; notifies observers
    const std::vector<ToolSetting>& all() const { return settings_; }
    void observe(std::function<void(const ToolSetting&)> observer);

  private:
    ToolSetting& find(std::string_view name);
    std::vector<ToolSetting> settings_;
    std::vector<std::function<void(const ToolSetting&)>> observers_;
};

class Tool {
  public:
    Tool();
    virtual ~Tool() = default;
    Tool(const Tool&) = delete;
    Tool& operator=(const Tool&) = delete;

    virtual std::string_view name() const = 0;
    // Binds the tool to an annotation; an edit still open is finished first.
    virtual void activate(const ToolContext& context);
    // Returns true when the tool used the event.
    virtual bool handle(const PointerEvent& event);
    // Runs the tool's whole-segment operation on the active segment; false if it has none.
    virtual bool apply();

    ToolSettings& settings() { return settings_; }
    const ToolSettings& settings() const { return settings_; }

    // The oldest finished edit not yet taken (one per drag or apply); nothing when none is left
    // or no voxel changed. An edit still open (e.g. a region grow being tuned) is finished.
    std::optional<UndoRecord> takeUndoRecord();
    // Voxels changed (or reverted) since the last call: the overlay refresh region.
    VoxelRegion takeDirtyRegion();

  protected:
    const ToolContext& context() const;
    // The open stroke, opened on first use; throws ToolError if the active segment is locked.
    Stroke& stroke();
    bool strokeOpen() const { return stroke_.has_value(); }
    void finishStroke(std::string description);
    virtual void settingChanged(const ToolSetting&) {}

    // For whole-segment tools: extracts the active segment (box padded by `pad` voxels),
    // transforms it and writes the difference. Returns false when the segment is empty.
    bool transformActiveSegment(const Index3& pad,
                                const std::function<RegionMask(const RegionMask&)>& transform,
                                std::string description);

  private:
    ToolSettings settings_;
    std::optional<ToolContext> context_;
    std::optional<Stroke> stroke_;
    std::deque<UndoRecord> pending_;
    VoxelRegion dirty_;
};

// Every tool, by name; the list lives in ToolRegistry.cpp (one line per tool).
std::unique_ptr<Tool> createTool(std::string_view name); // throws ToolError for an unknown name
std::vector<std::string> toolNames();

} // namespace radmark::annotation
