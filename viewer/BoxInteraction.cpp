#include "viewer/BoxInteraction.h"

#include "viewer/LabelEditor.h"
#include "viewer/SliceView.h"

#include <QLineF>

#include <algorithm>

namespace radmark::viewer {

namespace {
// How near (in screen pixels) the pointer must be to an edge or corner to grab it.
constexpr double grabPixels = 6;

bool drawsBoxesIn3D(const QString& toolName) {
    const annotation::ToolDescription* tool = LabelEditor::toolDescription(toolName);
    return tool && tool->box3D;
}
} // namespace

struct BoxInteraction::Private {
    LabelEditor* editor = nullptr;
    const SliceCursor* cursor = nullptr;
    std::array<std::unique_ptr<BoxOverlay>, 3> overlays;
    annotation::BoxGesture gesture;
    std::uint32_t selected = 0;
    std::string author;
    int halfDepthSlices = 5;
};

BoxInteraction::BoxInteraction(LabelEditor& editor, const SliceCursor& cursor,
                               const std::array<SliceView*, 3>& views, QObject* parent)
    : QObject(parent), d(new Private) {
    d->editor = &editor;
    d->cursor = &cursor;
    for (int i = 0; i < 3; ++i)
        d->overlays[i] = std::make_unique<BoxOverlay>(*views[i]);
    connect(&editor, &LabelEditor::boxesChanged, this, &BoxInteraction::onBoxesChanged);
    connect(&editor, &LabelEditor::segmentsChanged, this, &BoxInteraction::refresh);
    connect(&editor, &LabelEditor::annotationReplaced, this, [this] {
        d->gesture.cancel();
        selectBox(0);
    });
    connect(&editor, &LabelEditor::toolChanged, this, [this](const QString& name) {
        d->gesture.cancel();
        if (!isBoxTool(name)) {
            selectBox(0);
            return;
        }
        emit statusMessage(
            drawsBoxesIn3D(name)
                ? tr("3D box: drag on a slice to draw (spans %1 slices each side; adjust in "
                     "another view by its handles), drag inside to move, Delete removes")
                      .arg(d->halfDepthSlices)
                : tr("2D box: drag on a slice to draw, drag inside to move, drag a corner or "
                     "edge to resize, Delete removes the selected box"));
    });
}

BoxInteraction::~BoxInteraction() = default;

bool BoxInteraction::isBoxTool(const QString& toolName) {
    const annotation::ToolDescription* tool = LabelEditor::toolDescription(toolName);
    return tool && tool->kind == annotation::ToolKind::Box;
}

std::vector<annotation::Box> BoxInteraction::shownBoxes() const {
    std::vector<annotation::Box> shown;
    for (const annotation::Box& box : d->editor->boxes().all()) {
        const annotation::Segment* segment = d->editor->segments().find(box.segment);
        if (segment && segment->visible)
            shown.push_back(box);
    }
    return shown;
}

double BoxInteraction::toleranceVoxels(const SliceView& view) const {
    const PlaneLayout layout = d->cursor->layout(view.plane());
    const imaging::Vec3 at = d->cursor->index();
    imaging::Vec3 right = at, up = at;
    right[layout.rightAxis] += 1;
    up[layout.upAxis] += 1;
    const QPointF origin = view.widgetPositionOf(at);
    const double pixelsPerVoxel = std::min(QLineF(origin, view.widgetPositionOf(right)).length(),
                                           QLineF(origin, view.widgetPositionOf(up)).length());
    return std::max(0.75, grabPixels / std::max(pixelsPerVoxel, 1e-3));
}

void BoxInteraction::handlePointer(SliceView& view, annotation::PointerPhase phase,
                                   const imaging::Index3& voxel) {
    if (!isBoxTool(d->editor->toolName()) || !d->editor->hasAnnotation())
        return;
    switch (phase) {
    case annotation::PointerPhase::Press: {
        const annotation::ViewSlice slice{annotation::SliceAxis(view.normalIndexAxis()),
                                          d->cursor->slice(view.plane())};
        annotation::BoxDrawing drawing;
        drawing.threeD = drawsBoxesIn3D(d->editor->toolName());
        drawing.halfDepthSlices = d->halfDepthSlices;
        drawing.segment = d->editor->activeSegment();
        drawing.author = d->author;
        d->gesture.press(d->editor->labels().geometry().dims, shownBoxes(), slice, voxel,
                         toleranceVoxels(view), d->selected, drawing);
        selectBox(d->gesture.target()); // pressing on a box selects it at once
        break;
    }
    case annotation::PointerPhase::Drag:
        if (d->gesture.active()) {
            d->gesture.drag(voxel);
            refresh();
        }
        break;
    case annotation::PointerPhase::Release:
        if (d->gesture.active())
            finishGesture(d->gesture.release(voxel));
        break;
    }
}

void BoxInteraction::finishGesture(const annotation::BoxGestureResult& result) {
    std::uint32_t selected = result.selected;
    if (result.edit) {
        const annotation::BoxEdit& edit = *result.edit;
        const annotation::SegmentList& segments = d->editor->segments();
        d->editor->editBoxes(
            [&](annotation::BoxList& boxes) {
                const annotation::Box* target = boxes.find(edit.box);
                const annotation::Segment* segment =
                    segments.find(target ? target->segment : edit.segment);
                if (segment && segment->locked)
                    throw annotation::BoxError("The segment \"" + segment->name +
                                               "\" is locked: unlock it to edit its boxes.");
                annotation::BoxChange change = edit.applyTo(boxes);
                if (!change.before && change.after)
                    selected = change.after->id; // a new box is selected once drawn
                return change;
            },
            edit.description());
    }
    selectBox(selected);
    refresh(); // the preview goes, whether the edit was taken or refused
}

std::uint32_t BoxInteraction::selectedBox() const {
    return d->selected;
}

void BoxInteraction::selectBox(std::uint32_t id) {
    if (id != 0 && !d->editor->boxes().find(id))
        id = 0;
    const bool changed = id != d->selected;
    d->selected = id;
    refresh();
    if (changed)
        emit selectionChanged(id);
}

bool BoxInteraction::removeSelectedBox() {
    if (d->selected == 0) {
        emit statusMessage(
            tr("No box is selected: choose the box tool (X) and click inside a box."));
        return false;
    }
    const std::uint32_t id = d->selected;
    const std::size_t before = d->editor->boxes().all().size();
    d->editor->editBoxes([id](annotation::BoxList& boxes) { return boxes.remove(id); },
                         "Delete box");
    return d->editor->boxes().all().size() < before;
}

void BoxInteraction::setAuthor(const std::string& author) {
    d->author = author;
}

void BoxInteraction::setHalfDepthSlices(int slices) {
    d->halfDepthSlices = std::max(0, slices);
}

int BoxInteraction::halfDepthSlices() const {
    return d->halfDepthSlices;
}

void BoxInteraction::onBoxesChanged() {
    selectBox(d->selected); // an undone or deleted box is no longer selected
}

void BoxInteraction::refresh() {
    std::vector<DrawnBox> drawn;
    if (d->editor->hasAnnotation()) {
        // While dragging, the box shows as the release will leave it (a read-only version
        // keeps its boxes where they are: the edit would be refused).
        const std::optional<annotation::Box> preview =
            d->editor->readOnly() ? std::nullopt : d->gesture.preview();
        const std::uint32_t previewed = preview ? d->gesture.target() : 0;
        for (const annotation::Box& box : shownBoxes()) {
            const annotation::Box& shown = previewed == box.id ? *preview : box;
            const annotation::Segment* segment = d->editor->segments().find(box.segment);
            drawn.push_back({shown, segment->colour, box.id == d->selected});
        }
        if (preview && previewed == 0) {
            const annotation::Segment* segment = d->editor->segments().find(preview->segment);
            if (segment)
                drawn.push_back({*preview, segment->colour, true});
        }
    }
    for (auto& overlay : d->overlays)
        overlay->show(drawn, *d->cursor);
}

const BoxOverlay& BoxInteraction::overlay(ViewPlane plane) const {
    return *d->overlays[int(plane)];
}

} // namespace radmark::viewer
