#include "viewer/BoxOverlay.h"

#include "viewer/SliceView.h"

#include "annotation/BoxGesture.h"

#include <vtkActor2D.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkCommand.h>
#include <vtkCoordinate.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper2D.h>
#include <vtkProperty2D.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkUnsignedCharArray.h>

#include <array>
#include <optional>

namespace radmark::viewer {

namespace {

constexpr double handleHalfPixels = 3;
constexpr double boxLineWidth = 2;
constexpr double selectedLineWidth = 3;

// A polydata of closed rectangles and filled squares with one RGB colour per cell, drawn over
// the slice in world coordinates.
struct Layer {
    vtkSmartPointer<vtkPolyData> data = vtkSmartPointer<vtkPolyData>::New();
    vtkSmartPointer<vtkActor2D> actor = vtkSmartPointer<vtkActor2D>::New();
    vtkSmartPointer<vtkPoints> points;
    vtkSmartPointer<vtkCellArray> lines, polys;
    vtkSmartPointer<vtkUnsignedCharArray> lineColours, polyColours;

    Layer(vtkRenderer* renderer, double lineWidth) {
        auto world = vtkSmartPointer<vtkCoordinate>::New();
        world->SetCoordinateSystemToWorld();
        auto mapper = vtkSmartPointer<vtkPolyDataMapper2D>::New();
        mapper->SetInputData(data);
        mapper->SetTransformCoordinate(world);
        mapper->ScalarVisibilityOn();
        mapper->SetScalarModeToUseCellData();
        mapper->SetColorModeToDirectScalars();
        actor->SetMapper(mapper);
        actor->GetProperty()->SetLineWidth(float(lineWidth));
        actor->VisibilityOff();
        renderer->AddViewProp(actor);
        begin();
        end();
    }
    void begin() {
        points = vtkSmartPointer<vtkPoints>::New();
        lines = vtkSmartPointer<vtkCellArray>::New();
        polys = vtkSmartPointer<vtkCellArray>::New();
        lineColours = vtkSmartPointer<vtkUnsignedCharArray>::New();
        polyColours = vtkSmartPointer<vtkUnsignedCharArray>::New();
        lineColours->SetNumberOfComponents(3);
        polyColours->SetNumberOfComponents(3);
    }
    // The four corners in order; a closed outline, or a filled square.
    void add(const std::array<imaging::Vec3, 4>& corners, const annotation::Rgb& colour,
             bool filled) {
        vtkIdType ids[5];
        for (int i = 0; i < 4; ++i)
            ids[i] = points->InsertNextPoint(corners[i].data());
        ids[4] = ids[0];
        const unsigned char rgb[3] = {colour.r, colour.g, colour.b};
        if (filled) {
            polys->InsertNextCell(4, ids);
            polyColours->InsertNextTypedTuple(rgb);
        } else {
            lines->InsertNextCell(5, ids);
            lineColours->InsertNextTypedTuple(rgb);
        }
    }
    void end() {
        // vtkPolyData numbers lines before polygons: the colours follow that order.
        auto colours = vtkSmartPointer<vtkUnsignedCharArray>::New();
        colours->SetNumberOfComponents(3);
        colours->DeepCopy(lineColours);
        colours->InsertTuples(colours->GetNumberOfTuples(), polyColours->GetNumberOfTuples(), 0,
                              polyColours);
        data->Initialize();
        data->SetPoints(points);
        data->SetLines(lines);
        data->SetPolys(polys);
        data->GetCellData()->SetScalars(colours);
        data->Modified();
        actor->SetVisibility(lines->GetNumberOfCells() + polys->GetNumberOfCells() > 0);
    }
};

} // namespace

struct BoxOverlay::Private {
    SliceView* view = nullptr;
    // Kept alive by the overlay: the four-up layout may delete its views first.
    vtkSmartPointer<vtkRenderer> renderer;
    std::optional<Layer> boxes;    // every shown box but the selected one
    std::optional<Layer> selected; // the selected box and its handles
    unsigned long observer = 0;

    // What the rectangles are built from, kept to rebuild the handles on a zoom change.
    std::optional<DrawnBox> selectedBox;
    PlaneLayout layout;
    int slice = 0;
    double handleWorldSize = 0;
    int shownCount = 0;

    // A point of the slice at in-plane index coordinates (right, up).
    imaging::Vec3 onSlice(double right, double up) const {
        imaging::Vec3 index{0, 0, 0};
        index[layout.rightAxis] = right;
        index[layout.upAxis] = up;
        index[layout.normalAxis] = slice;
        return view->worldOf(index);
    }
    // The rectangle around the box's voxels: edges half a voxel outside the outermost ones.
    std::array<double, 4> edges(const annotation::Box& box) const {
        return {box.min[layout.rightAxis] - 0.5, box.max[layout.rightAxis] + 0.5,
                box.min[layout.upAxis] - 0.5, box.max[layout.upAxis] + 0.5};
    }
    void addOutline(Layer& layer, const DrawnBox& drawn) const {
        const auto [left, right, bottom, top] = edges(drawn.box);
        layer.add({onSlice(left, bottom), onSlice(right, bottom), onSlice(right, top),
                   onSlice(left, top)},
                  drawn.colour, false);
    }
    double currentHandleWorldSize() const {
        const int height = renderer->GetSize()[1];
        return height > 0
                   ? 2 * renderer->GetActiveCamera()->GetParallelScale() * handleHalfPixels / height
                   : 0;
    }
    void buildSelected() {
        selected->begin();
        handleWorldSize = currentHandleWorldSize();
        if (selectedBox) {
            addOutline(*selected, *selectedBox);
            const auto [left, right, bottom, top] = edges(selectedBox->box);
            const double h = handleWorldSize;
            const imaging::Vec3& r = layout.screenRight;
            const imaging::Vec3& u = layout.screenUp;
            for (double x : {left, (left + right) / 2, right})
                for (double y : {bottom, (bottom + top) / 2, top}) {
                    if (x != left && x != right && y != bottom && y != top)
                        continue; // the centre is for moving, not a handle
                    const imaging::Vec3 c = onSlice(x, y);
                    std::array<imaging::Vec3, 4> square;
                    const double signs[4][2] = {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}};
                    for (int i = 0; i < 4; ++i)
                        for (int k = 0; k < 3; ++k)
                            square[i][k] = c[k] + h * (signs[i][0] * r[k] + signs[i][1] * u[k]);
                    selected->add(square, annotation::Rgb{255, 255, 255}, true);
                }
        }
        selected->end();
    }
    // Before each render: handles keep their screen size when the view was zoomed or resized.
    void beforeRender() {
        if (selectedBox && currentHandleWorldSize() != handleWorldSize)
            buildSelected();
    }
};

BoxOverlay::BoxOverlay(SliceView& view) : d(new Private) {
    d->view = &view;
    d->renderer = view.renderer();
    d->boxes.emplace(view.renderer(), boxLineWidth);
    d->selected.emplace(view.renderer(), selectedLineWidth);
    d->observer =
        view.renderer()->AddObserver(vtkCommand::StartEvent, d.get(), &Private::beforeRender);
}

BoxOverlay::~BoxOverlay() {
    d->renderer->RemoveObserver(d->observer);
    d->renderer->RemoveViewProp(d->boxes->actor);
    d->renderer->RemoveViewProp(d->selected->actor);
}

void BoxOverlay::show(const std::vector<DrawnBox>& boxes, const SliceCursor& cursor) {
    const ViewPlane plane = d->view->plane();
    d->layout = cursor.layout(plane);
    d->slice = cursor.slice(plane);
    d->selectedBox.reset();
    d->shownCount = 0;
    d->boxes->begin();
    for (const DrawnBox& drawn : boxes) {
        const annotation::ViewSlice shownSlice{annotation::SliceAxis(d->layout.normalAxis),
                                               d->slice};
        if (!annotation::crossesSlice(drawn.box, shownSlice))
            continue;
        ++d->shownCount;
        if (drawn.selected)
            d->selectedBox = drawn;
        else
            d->addOutline(*d->boxes, drawn);
    }
    d->boxes->end();
    d->buildSelected();
    d->view->requestRender();
}

void BoxOverlay::clear() {
    d->selectedBox.reset();
    d->shownCount = 0;
    d->boxes->begin();
    d->boxes->end();
    d->buildSelected();
    d->view->requestRender();
}

int BoxOverlay::shownBoxCount() const {
    return d->shownCount;
}

bool BoxOverlay::showsHandles() const {
    return d->selectedBox.has_value();
}

} // namespace radmark::viewer
