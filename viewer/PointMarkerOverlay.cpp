#include "viewer/PointMarkerOverlay.h"

#include "viewer/SliceView.h"

#include <vtkActor2D.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkCommand.h>
#include <vtkCoordinate.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper2D.h>
#include <vtkProperty2D.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>

#include <cmath>
#include <numbers>

namespace radmark::viewer {

namespace {
constexpr double circleRadiusPixels = 7;
constexpr int circlePoints = 32;
// Orange: apart from the yellow crosshair and from the overlay's blue and green.
constexpr double markerColour[3] = {1.0, 0.55, 0.0};
} // namespace

struct PointMarkerOverlay::Private {
    SliceView* view = nullptr;
    // Kept alive by the overlay: its owner may delete the view first.
    vtkSmartPointer<vtkRenderer> renderer;
    vtkSmartPointer<vtkPolyData> circles = vtkSmartPointer<vtkPolyData>::New();
    vtkSmartPointer<vtkActor2D> circleActor = vtkSmartPointer<vtkActor2D>::New();
    std::vector<vtkSmartPointer<vtkTextActor>> numbers; // one per shown marker, reused
    unsigned long observer = 0;

    PlaneLayout layout;
    std::vector<PointMarker> shown; // on the current slice, at the slice's depth
    double radiusWorld = 0;

    double currentRadiusWorld() const {
        const int height = renderer->GetSize()[1];
        return height > 0 ? 2 * renderer->GetActiveCamera()->GetParallelScale() *
                                circleRadiusPixels / height
                          : 0;
    }
    void build() {
        radiusWorld = currentRadiusWorld();
        auto points = vtkSmartPointer<vtkPoints>::New();
        auto lines = vtkSmartPointer<vtkCellArray>::New();
        const imaging::Vec3& r = layout.screenRight;
        const imaging::Vec3& u = layout.screenUp;
        for (std::size_t m = 0; m < shown.size(); ++m) {
            const imaging::Vec3 c = view->worldOf(shown[m].index);
            vtkIdType ids[circlePoints + 1];
            for (int i = 0; i < circlePoints; ++i) {
                const double angle = 2 * std::numbers::pi * i / circlePoints;
                const double x = radiusWorld * std::cos(angle), y = radiusWorld * std::sin(angle);
                ids[i] =
                    points->InsertNextPoint(c[0] + x * r[0] + y * u[0], c[1] + x * r[1] + y * u[1],
                                            c[2] + x * r[2] + y * u[2]);
            }
            ids[circlePoints] = ids[0];
            lines->InsertNextCell(circlePoints + 1, ids);
            // The number sits off the circle's upper right, clear of the point itself.
            vtkTextActor* number = numbers[m];
            const double o = 1.2 * radiusWorld;
            number->GetPositionCoordinate()->SetValue(
                c[0] + o * (r[0] + u[0]), c[1] + o * (r[1] + u[1]), c[2] + o * (r[2] + u[2]));
        }
        circles->Initialize();
        circles->SetPoints(points);
        circles->SetLines(lines);
        circles->Modified();
        circleActor->SetVisibility(!shown.empty());
        for (std::size_t m = 0; m < numbers.size(); ++m)
            numbers[m]->SetVisibility(m < shown.size());
    }
    // Before each render: circles keep their screen size when the view was zoomed or resized.
    void beforeRender() {
        if (!shown.empty() && currentRadiusWorld() != radiusWorld)
            build();
    }
    vtkTextActor* newNumber() {
        auto number = vtkSmartPointer<vtkTextActor>::New();
        number->GetPositionCoordinate()->SetCoordinateSystemToWorld();
        vtkTextProperty* text = number->GetTextProperty();
        text->SetFontSize(16);
        text->SetBold(true);
        text->SetShadow(true);
        text->SetColor(markerColour);
        text->SetJustification(VTK_TEXT_LEFT);
        text->SetVerticalJustification(VTK_TEXT_BOTTOM);
        number->VisibilityOff();
        renderer->AddViewProp(number);
        numbers.push_back(number);
        return number;
    }
};

PointMarkerOverlay::PointMarkerOverlay(SliceView& view) : d(new Private) {
    d->view = &view;
    d->renderer = view.renderer();
    auto world = vtkSmartPointer<vtkCoordinate>::New();
    world->SetCoordinateSystemToWorld();
    auto mapper = vtkSmartPointer<vtkPolyDataMapper2D>::New();
    mapper->SetInputData(d->circles);
    mapper->SetTransformCoordinate(world);
    d->circleActor->SetMapper(mapper);
    d->circleActor->GetProperty()->SetColor(markerColour);
    d->circleActor->GetProperty()->SetLineWidth(2);
    d->circleActor->VisibilityOff();
    d->renderer->AddViewProp(d->circleActor);
    d->observer = d->renderer->AddObserver(vtkCommand::StartEvent, d.get(), &Private::beforeRender);
}

PointMarkerOverlay::~PointMarkerOverlay() {
    d->renderer->RemoveObserver(d->observer);
    d->renderer->RemoveViewProp(d->circleActor);
    for (auto& number : d->numbers)
        d->renderer->RemoveViewProp(number);
}

void PointMarkerOverlay::show(const std::vector<PointMarker>& markers, const SliceCursor& cursor) {
    const ViewPlane plane = d->view->plane();
    d->layout = cursor.layout(plane);
    const int slice = cursor.slice(plane);
    d->shown.clear();
    for (const PointMarker& marker : markers) {
        if (std::lround(marker.index[d->layout.normalAxis]) != slice)
            continue;
        PointMarker onSlice = marker;
        onSlice.index[d->layout.normalAxis] = slice; // drawn at the slice's depth
        d->shown.push_back(onSlice);
    }
    while (d->numbers.size() < d->shown.size())
        d->newNumber();
    for (std::size_t m = 0; m < d->shown.size(); ++m)
        d->numbers[m]->SetInput(QByteArray::number(d->shown[m].id).constData());
    d->build();
    d->view->requestRender();
}

void PointMarkerOverlay::clear() {
    d->shown.clear();
    d->build();
    d->view->requestRender();
}

std::vector<int> PointMarkerOverlay::shownMarkerIds() const {
    std::vector<int> ids;
    for (const PointMarker& marker : d->shown)
        ids.push_back(marker.id);
    return ids;
}

} // namespace radmark::viewer
