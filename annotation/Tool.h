#pragma once
// The one contract every editing tool follows (paint, region grow, smoothing, ...): it is bound
// to an annotation with activate(), handles pointer events given in voxel coordinates on a slice
// plane and says whether it used them, or runs a whole-segment operation with apply(), and hands
// back one undo record per drag or apply. Tools know nothing of Qt or VTK; a thin interaction
// class in viewer/ turns mouse events into these calls. Settings are named numeric properties so
// a panel can bind to any tool generically. Every tool also describes itself (ToolDescription:
// title, kind, hint, key, what the viewer must do for it), so the editor, the Tools panel, the
// menu and the shortcuts read one list and know no tool by name.

#include "annotation/Box.h"
#include "annotation/LabelMap.h"
#include "annotation/MaskOperations.h"
#include "annotation/Segment.h"
#include "annotation/Stroke.h"
#include "annotation/UndoHistory.h"

#include <cstdint>
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

// How a tool is used, which decides how the viewer routes input to it.
enum class ToolKind : std::uint8_t {
    Pointer,      // edits with pointer events in a slice view (Tool::handle)
    Box,          // draws boxes with a drag; the gesture is annotation::BoxGesture, no Tool object
    WholeSegment, // runs on the whole active segment with Apply (Tool::apply); its key applies it
};

// What a tool says about itself: everything a menu, a panel, the shortcuts and the slice views
// need, so that none of them knows a tool by name (3D Slicer's effects carry the same: name,
// title, help, flags).
struct ToolDescription {
    std::string name;  // stable identifier, e.g. "region-grow"; stored in settings and tests
    std::string title; // what the radiologist reads, e.g. "Region grow"
    ToolKind kind = ToolKind::Pointer;
    std::string hint; // shown in the Tools panel while the tool is chosen
    // Portable key text ("B", "Shift+X", "Ctrl+Shift+F"), empty for none. It chooses a pointer
    // or box tool and applies a whole-segment one. No two tools share one; the keys the app
    // binds outside tools are checked against these in tests/gui/ToolRegistrationTests.cpp.
    std::string key;
    // A brush: declares "radius_mm" and "sphere", shares them with the other brushes, shows the
    // brush circle under the pointer and takes the [ ] radius and Shift+S shape keys.
    bool brush = false;
    // Declares "lower" and "upper" (an intensity range), which start from the window shown.
    bool intensityRange = false;
    // A click plants a seed and its edit stays open until the next click, so changing a setting
    // redoes it from the same seed inside the same undo step (region grow).
    bool regrowsFromSeed = false;
    // A box tool that draws 3D boxes: the Tools panel asks how many slices deep.
    bool box3D = false;
    // A whole-segment tool that can find nothing to do on a segment that has voxels: what the
    // segment needs, completing "<title> needs "<segment>" ..." (e.g. "on two slices with
    // unpainted slices between them"). Empty: "<title> changed nothing".
    std::string needsOnSegment;
};

class Tool {
  public:
    Tool();
    virtual ~Tool() = default;
    Tool(const Tool&) = delete;
    Tool& operator=(const Tool&) = delete;

    // Set by createTool from the tool's registration.
    const ToolDescription& description() const { return description_; }
    std::string_view name() const { return description_.name; }
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
    friend std::unique_ptr<Tool> createTool(std::string_view name);
    ToolDescription description_;
    ToolSettings settings_;
    std::optional<ToolContext> context_;
    std::optional<Stroke> stroke_;
    std::deque<UndoRecord> pending_;
    VoxelRegion dirty_;
};

// One tool as the registry holds it: its description and how to make one. `create` is empty for
// box tools, whose drag is handled by annotation::BoxGesture (and viewer::BoxInteraction).
struct ToolRegistration {
    ToolDescription description;
    std::function<std::unique_ptr<Tool>()> create;
};

// The built-in tools are listed in ToolRegistry.cpp (one line per tool, each made by a function
// in the tool's own file). registerTool adds one more (a test, a plugin): call it before the UI
// is built, which reads the list once, and not from two threads at once. It throws ToolError
// when the name or the key is already taken by another tool, or the description is incomplete.
void registerTool(ToolRegistration registration);
// Every tool's description, built-in ones first, in the order they were listed.
std::vector<ToolDescription> toolDescriptions();
// nullptr for an unknown name; the description stays valid while the program runs.
const ToolDescription* findTool(std::string_view name);
// Throws ToolError for an unknown name and for a box tool (it has no Tool object).
std::unique_ptr<Tool> createTool(std::string_view name);
// The names createTool accepts (pointer and whole-segment tools), in registration order.
std::vector<std::string> toolNames();

} // namespace radmark::annotation
