// The box tools: a drag in a slice view draws a 2D box on the shown slice or a 3D box across
// slices, for the active segment. They join the tool list with a description only, so the menu,
// the Tools panel and the keys come from one list; the drag itself (draw, move, resize by a
// handle) is annotation::BoxGesture, driven by viewer::BoxInteraction, and writes boxes rather
// than voxels, so there is no Tool object to make.

#include "annotation/Tool.h"

namespace radmark::annotation {
namespace {

ToolDescription box(std::string name, std::string title, std::string key) {
    ToolDescription d;
    d.name = std::move(name);
    d.title = std::move(title);
    d.kind = ToolKind::Box;
    d.hint = "Drag in a slice view to draw a box for the active segment.";
    d.key = std::move(key);
    return d;
}

} // namespace

ToolRegistration box2DTool() {
    return {box("box", "Box 2D", "X"), {}};
}

ToolRegistration box3DTool() {
    ToolDescription d = box("box3d", "Box 3D", "Shift+X");
    d.box3D = true;
    return {std::move(d), {}};
}

} // namespace radmark::annotation
