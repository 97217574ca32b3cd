#include "viewer/SliceView.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>

#include <vtkActor2D.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkCoordinate.h>
#include <vtkCornerAnnotation.h>
#include <vtkImageData.h>
#include <vtkImageProperty.h>
#include <vtkImageSlice.h>
#include <vtkImageSliceMapper.h>
#include <vtkImageStack.h>
#include <vtkLookupTable.h>
#include <vtkMatrix4x4.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper2D.h>
#include <vtkProperty2D.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkUnsignedCharArray.h>
#include <vtkUnsignedShortArray.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace radmark::viewer {

namespace {
enum class Drag { None, Crosshair, Pan, WindowLevel, Edit };

QString patientCoordinate(int patientAxis, double value) {
    static const char positive[] = "LPS";
    static const char negative[] = "RAI";
    const char letter = value >= 0 ? positive[patientAxis] : negative[patientAxis];
    return QStringLiteral("%1 %2 mm").arg(QChar(letter)).arg(std::abs(value), 0, 'f', 1);
}

constexpr int brushOutlinePoints = 96;

// Which label values (1..255) a colour table shows; false for all when there is no table.
std::array<bool, 256> shownLabels(vtkLookupTable* colours, bool& any) {
    std::array<bool, 256> shown{};
    any = false;
    if (!colours)
        return shown;
    for (int value = 1; value < 256; ++value) {
        double rgba[4];
        colours->GetTableValue(value, rgba);
        shown[std::size_t(value)] = rgba[3] > 0;
        any = any || shown[std::size_t(value)];
    }
    return shown;
}

// The boundary of the outlined labels on slice `slice` across index axis `normal`: a voxel of
// an outlined label whose in-plane 4-neighbour has another label (or lies off the grid) keeps
// its label in `out` (the slice, first in-plane axis fastest); every other pixel is 0.
template <class T>
void outlineOfSlice(const T* labels, const imaging::Index3& dims, int normal, int slice,
                    const std::array<bool, 256>& outlined, std::uint8_t* out) {
    const int u = normal == 0 ? 1 : 0, v = normal == 2 ? 1 : 2;
    const std::size_t stride[3] = {1, std::size_t(dims[0]), std::size_t(dims[0]) * dims[1]};
    const std::size_t su = stride[u], sv = stride[v];
    const int nu = dims[u], nv = dims[v];
    for (int iv = 0; iv < nv; ++iv) {
        std::size_t i = std::size_t(slice) * stride[normal] + std::size_t(iv) * sv;
        std::uint8_t* row = out + std::size_t(iv) * std::size_t(nu);
        for (int iu = 0; iu < nu; ++iu, i += su) {
            const T label = labels[i];
            if (label == 0 || label > 255 || !outlined[label]) {
                row[iu] = 0;
                continue;
            }
            const bool edge = iu == 0 || iv == 0 || iu == nu - 1 || iv == nv - 1 ||
                              labels[i - su] != label || labels[i + su] != label ||
                              labels[i - sv] != label || labels[i + sv] != label;
            row[iu] = edge ? std::uint8_t(label) : 0;
        }
    }
}
} // namespace

struct SliceView::Private {
    ViewPlane plane = ViewPlane::Axial;
    SliceCursor* cursor = nullptr;
    vtkSmartPointer<vtkImageData> image;
    double valueRange = 1000;
    PlaneLayout layout;
    std::array<double, 9> snapped{1, 0, 0, 0, 1, 0, 0, 0, 1};
    imaging::Vec3 spacing{1, 1, 1};
    imaging::Index3 dims{0, 0, 0};

    vtkSmartPointer<vtkImageSliceMapper> mapper;
    vtkSmartPointer<vtkImageSlice> slice;
    vtkSmartPointer<vtkImageSliceMapper> labelMapper;
    vtkSmartPointer<vtkImageSlice> labelSlice;
    vtkSmartPointer<vtkImageData> labels;
    // Segments shown as outlines: the shown slice's boundary pixels, recomputed when the labels
    // or the slice change, as a third layer (only while some segment is outlined).
    vtkSmartPointer<vtkLookupTable> outlineColours;
    vtkSmartPointer<vtkImageData> outlineImage;
    vtkSmartPointer<vtkImageSliceMapper> outlineMapper;
    vtkSmartPointer<vtkImageSlice> outlineSlice;
    vtkSmartPointer<vtkImageStack> stack; // image below, labels above, outlines on top
    double brushRadiusMm = 0;
    std::optional<imaging::Vec3> brushCentre; // the voxel under the pointer
    vtkSmartPointer<vtkPoints> brushPoints;
    vtkSmartPointer<vtkActor2D> brushActor;
    bool editing = false;
    std::optional<imaging::Index3> lastEditVoxel;
    vtkSmartPointer<vtkPoints> crosshairPoints;
    vtkSmartPointer<vtkPolyData> crosshair;
    vtkSmartPointer<vtkActor2D> crosshairActor;
    std::array<vtkSmartPointer<vtkTextActor>, 4> letters; // left, right, top, bottom
    vtkSmartPointer<vtkCornerAnnotation> corners;

    WindowLevel windowLevel;
    double zoom = 1;
    imaging::Vec3 panWorld{0, 0, 0};

    Drag drag = Drag::None;
    QPointF dragStart;
    QPointF lastPosition;
    WindowLevel dragStartWindowLevel;
    int wheelRemainder = 0;

    imaging::Vec3 worldOf(const imaging::Vec3& index) const {
        imaging::Vec3 w{0, 0, 0};
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 3; ++c)
                w[r] += snapped[r * 3 + c] * index[c] * spacing[c];
        return w;
    }
    imaging::Vec3 indexOf(const imaging::Vec3& world) const {
        imaging::Vec3 index{0, 0, 0};
        for (int c = 0; c < 3; ++c) {
            double v = 0;
            for (int r = 0; r < 3; ++r)
                v += snapped[r * 3 + c] * world[r];
            index[c] = v / spacing[c];
        }
        return index;
    }
    double extent(int indexAxis) const { return dims[indexAxis] * spacing[indexAxis]; }
};

SliceView::SliceView(ViewPlane plane, QWidget* parent) : VtkOpenGLWidget(parent), d(new Private) {
    d->plane = plane;
    setObjectName(QString::fromLatin1(viewPlaneName(plane)).toLower() + QStringLiteral("View"));
    renderer()->SetBackground(0, 0, 0);
    renderer()->GetActiveCamera()->ParallelProjectionOn();

    d->mapper = vtkSmartPointer<vtkImageSliceMapper>::New();
    d->slice = vtkSmartPointer<vtkImageSlice>::New();
    d->slice->SetMapper(d->mapper);
    d->slice->GetProperty()->SetInterpolationTypeToLinear();
    d->slice->VisibilityOff();
    d->slice->GetProperty()->SetLayerNumber(0);
    // Label layers: values through a colour table, never blended between voxels.
    const auto labelLayer = [](vtkSmartPointer<vtkImageSliceMapper>& mapper,
                               vtkSmartPointer<vtkImageSlice>& layer, int number) {
        mapper = vtkSmartPointer<vtkImageSliceMapper>::New();
        layer = vtkSmartPointer<vtkImageSlice>::New();
        layer->SetMapper(mapper);
        layer->GetProperty()->SetInterpolationTypeToNearest();
        layer->GetProperty()->SetLayerNumber(number);
        layer->GetProperty()->UseLookupTableScalarRangeOn();
        layer->VisibilityOff();
    };
    labelLayer(d->labelMapper, d->labelSlice, 1);
    labelLayer(d->outlineMapper, d->outlineSlice, 2);
    d->stack = vtkSmartPointer<vtkImageStack>::New();
    d->stack->AddImage(d->slice);
    d->stack->SetActiveLayer(0);
    renderer()->AddViewProp(d->stack);

    d->crosshairPoints = vtkSmartPointer<vtkPoints>::New();
    d->crosshairPoints->SetNumberOfPoints(4);
    for (int i = 0; i < 4; ++i)
        d->crosshairPoints->SetPoint(i, 0, 0, 0);
    auto lines = vtkSmartPointer<vtkCellArray>::New();
    const vtkIdType horizontal[2] = {0, 1}, vertical[2] = {2, 3};
    lines->InsertNextCell(2, horizontal);
    lines->InsertNextCell(2, vertical);
    d->crosshair = vtkSmartPointer<vtkPolyData>::New();
    d->crosshair->SetPoints(d->crosshairPoints);
    d->crosshair->SetLines(lines);
    auto world = vtkSmartPointer<vtkCoordinate>::New();
    world->SetCoordinateSystemToWorld();
    auto crosshairMapper = vtkSmartPointer<vtkPolyDataMapper2D>::New();
    crosshairMapper->SetInputData(d->crosshair);
    crosshairMapper->SetTransformCoordinate(world);
    d->crosshairActor = vtkSmartPointer<vtkActor2D>::New();
    d->crosshairActor->SetMapper(crosshairMapper);
    d->crosshairActor->GetProperty()->SetColor(1.0, 0.85, 0.2);
    d->crosshairActor->GetProperty()->SetOpacity(0.75);
    d->crosshairActor->VisibilityOff();
    renderer()->AddViewProp(d->crosshairActor);

    d->brushPoints = vtkSmartPointer<vtkPoints>::New();
    d->brushPoints->SetNumberOfPoints(brushOutlinePoints);
    for (int i = 0; i < brushOutlinePoints; ++i)
        d->brushPoints->SetPoint(i, 0, 0, 0);
    std::array<vtkIdType, brushOutlinePoints + 1> loop;
    for (int i = 0; i <= brushOutlinePoints; ++i)
        loop[std::size_t(i)] = i % brushOutlinePoints;
    auto circle = vtkSmartPointer<vtkCellArray>::New();
    circle->InsertNextCell(vtkIdType(loop.size()), loop.data());
    auto brush = vtkSmartPointer<vtkPolyData>::New();
    brush->SetPoints(d->brushPoints);
    brush->SetLines(circle);
    auto brushMapper = vtkSmartPointer<vtkPolyDataMapper2D>::New();
    brushMapper->SetInputData(brush);
    brushMapper->SetTransformCoordinate(world);
    d->brushActor = vtkSmartPointer<vtkActor2D>::New();
    d->brushActor->SetMapper(brushMapper);
    d->brushActor->VisibilityOff();
    renderer()->AddViewProp(d->brushActor);

    const double letterPositions[4][2] = {{0.02, 0.5}, {0.98, 0.5}, {0.5, 0.97}, {0.5, 0.03}};
    for (int i = 0; i < 4; ++i) {
        auto& letter = d->letters[i];
        letter = vtkSmartPointer<vtkTextActor>::New();
        letter->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
        letter->SetPosition(letterPositions[i][0], letterPositions[i][1]);
        vtkTextProperty* text = letter->GetTextProperty();
        text->SetFontSize(16);
        text->SetBold(true);
        text->SetColor(0.95, 0.75, 0.3);
        text->SetJustification(i == 0   ? VTK_TEXT_LEFT
                               : i == 1 ? VTK_TEXT_RIGHT
                                        : VTK_TEXT_CENTERED);
        text->SetVerticalJustification(i == 2   ? VTK_TEXT_TOP
                                       : i == 3 ? VTK_TEXT_BOTTOM
                                                : VTK_TEXT_CENTERED);
        letter->VisibilityOff();
        renderer()->AddViewProp(letter);
    }
    d->corners = vtkSmartPointer<vtkCornerAnnotation>::New();
    d->corners->SetMaximumFontSize(15);
    d->corners->SetLinearFontScaleFactor(2);
    d->corners->SetNonlinearFontScaleFactor(1);
    d->corners->GetTextProperty()->SetColor(0.85, 0.85, 0.85);
    d->corners->SetText(2, viewPlaneName(plane));
    renderer()->AddViewProp(d->corners);
}

SliceView::~SliceView() = default;

ViewPlane SliceView::plane() const {
    return d->plane;
}

void SliceView::setPlane(ViewPlane plane) {
    if (plane == d->plane)
        return;
    d->plane = plane;
    setObjectName(QString::fromLatin1(viewPlaneName(plane)).toLower() + QStringLiteral("View"));
    d->corners->SetText(2, viewPlaneName(plane));
    if (!hasImage())
        return;
    // The same image and labels laid out again across the new normal.
    const vtkSmartPointer<vtkImageData> labels = d->labels;
    const vtkSmartPointer<vtkLookupTable> colours =
        vtkLookupTable::SafeDownCast(d->labelSlice->GetProperty()->GetLookupTable());
    const vtkSmartPointer<vtkLookupTable> outlineColours = d->outlineColours;
    d->outlineImage = nullptr; // its one-slice extent belongs to the old normal
    setImage(d->image, d->cursor, d->valueRange);
    if (labels && colours)
        setLabelOverlay(labels, colours, outlineColours);
}

void SliceView::setImage(vtkImageData* image, SliceCursor* cursor, double valueRange) {
    d->image = image;
    d->cursor = cursor;
    d->valueRange = valueRange > 0 ? valueRange : 1;
    d->layout = cursor->layout(d->plane);
    d->snapped = cursor->axes().snappedDirection();
    d->spacing = cursor->geometry().spacing;
    d->dims = cursor->geometry().dims;

    // World = snapped patient axes (LPS without the grid's obliquity), so the camera looks
    // along patient axes and left stays left even on left-handed grids.
    auto matrix = vtkSmartPointer<vtkMatrix4x4>::New();
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c)
            matrix->SetElement(r, c, d->snapped[r * 3 + c]);
    d->slice->SetUserMatrix(matrix);
    d->labelSlice->SetUserMatrix(matrix);
    d->outlineSlice->SetUserMatrix(matrix);
    d->mapper->SetInputData(image);
    d->mapper->SetOrientation(d->layout.normalAxis);
    d->slice->VisibilityOn();
    d->crosshairActor->VisibilityOn();
    const char letters[4] = {d->layout.left, d->layout.right, d->layout.top, d->layout.bottom};
    for (int i = 0; i < 4; ++i) {
        const char text[2] = {letters[i], 0};
        d->letters[i]->SetInput(text);
        d->letters[i]->VisibilityOn();
    }
    resetView();
    cursorChanged();
}

void SliceView::clearImage() {
    setLabelOverlay(nullptr, nullptr);
    placeBrushOutline(std::nullopt);
    d->slice->VisibilityOff();
    d->crosshairActor->VisibilityOff();
    for (auto& letter : d->letters)
        letter->VisibilityOff();
    d->mapper->RemoveAllInputConnections(0);
    d->mapper->SetInputData(nullptr);
    d->image = nullptr;
    d->cursor = nullptr;
    d->corners->SetText(0, "");
    d->corners->SetText(1, "");
    requestRender();
}

bool SliceView::hasImage() const {
    return d->image != nullptr && d->cursor != nullptr;
}

void SliceView::setLabelOverlay(vtkImageData* labels, vtkLookupTable* colours,
                                vtkLookupTable* outlineColours) {
    if (!labels || !colours) {
        for (vtkImageSlice* layer : {d->labelSlice.Get(), d->outlineSlice.Get()}) {
            if (d->stack->HasImage(layer))
                d->stack->RemoveImage(layer);
            layer->VisibilityOff();
        }
        d->labelMapper->SetInputData(nullptr);
        d->labelSlice->GetProperty()->SetLookupTable(nullptr);
        d->labels = nullptr;
        d->outlineColours = nullptr;
        d->outlineImage = nullptr;
        d->outlineMapper->SetInputData(nullptr);
        d->outlineSlice->GetProperty()->SetLookupTable(nullptr);
        requestRender();
        return;
    }
    d->labels = labels;
    d->labelMapper->SetInputData(labels);
    d->labelMapper->SetOrientation(d->layout.normalAxis);
    if (d->cursor)
        d->labelMapper->SetSliceNumber(d->cursor->slice(d->plane));
    d->labelSlice->GetProperty()->SetLookupTable(colours);
    d->labelSlice->VisibilityOn();
    if (!d->stack->HasImage(d->labelSlice))
        d->stack->AddImage(d->labelSlice);
    d->outlineColours = outlineColours;
    d->outlineSlice->GetProperty()->SetLookupTable(outlineColours);
    refreshOutlines();
    requestRender();
}

void SliceView::labelsChanged() {
    refreshOutlines();
    requestRender();
}

void SliceView::refreshOutlines() {
    bool any = false;
    const std::array<bool, 256> outlined = shownLabels(d->outlineColours, any);
    vtkDataArray* scalars = d->labels ? d->labels->GetPointData()->GetScalars() : nullptr;
    if (!any || !scalars || !hasImage()) {
        d->outlineSlice->VisibilityOff();
        return;
    }
    const int normal = d->layout.normalAxis;
    int extent[6] = {0, d->dims[0] - 1, 0, d->dims[1] - 1, 0, d->dims[2] - 1};
    extent[2 * normal] = extent[2 * normal + 1] = 0;
    if (!d->outlineImage || !std::equal(extent, extent + 6, d->outlineImage->GetExtent())) {
        d->outlineImage = vtkSmartPointer<vtkImageData>::New();
        d->outlineImage->SetExtent(extent);
        d->outlineImage->SetSpacing(d->spacing.data());
        d->outlineImage->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
        d->outlineMapper->SetInputData(d->outlineImage);
        d->outlineMapper->SetOrientation(normal);
        d->outlineMapper->SetSliceNumber(0);
    }
    // The one-slice image sits at the shown slice through its origin.
    const int slice = d->cursor->slice(d->plane);
    double origin[3] = {0, 0, 0};
    origin[normal] = slice * d->spacing[normal];
    d->outlineImage->SetOrigin(origin);
    auto* out = static_cast<std::uint8_t*>(d->outlineImage->GetScalarPointer());
    if (auto* bytes = vtkUnsignedCharArray::SafeDownCast(scalars))
        outlineOfSlice(bytes->GetPointer(0), d->dims, normal, slice, outlined, out);
    else if (auto* words = vtkUnsignedShortArray::SafeDownCast(scalars))
        outlineOfSlice(words->GetPointer(0), d->dims, normal, slice, outlined, out);
    d->outlineImage->Modified();
    d->outlineSlice->VisibilityOn();
    if (!d->stack->HasImage(d->outlineSlice))
        d->stack->AddImage(d->outlineSlice);
}

void SliceView::setBrushOutline(double radiusMm, bool sphere) {
    d->brushRadiusMm = std::max(0.0, radiusMm);
    // Green for a disc in this slice, cyan for a sphere (it reaches the slices around too).
    if (sphere)
        d->brushActor->GetProperty()->SetColor(0.3, 0.85, 1.0);
    else
        d->brushActor->GetProperty()->SetColor(0.4, 1.0, 0.4);
    placeBrushOutline(d->brushCentre);
}

bool SliceView::brushOutlineShown() const {
    return d->brushActor->GetVisibility() != 0;
}

void SliceView::placeBrushOutline(const std::optional<imaging::Vec3>& index) {
    const bool show = index && d->brushRadiusMm > 0 && hasImage();
    if (show) {
        imaging::Vec3 centre;
        for (int a = 0; a < 3; ++a)
            centre[a] = std::round((*index)[a]);
        centre[d->layout.normalAxis] = d->cursor->slice(d->plane);
        d->brushCentre = centre;
        const imaging::Vec3 c = d->worldOf(centre);
        const imaging::Vec3& right = d->layout.screenRight;
        const imaging::Vec3& up = d->layout.screenUp;
        for (int i = 0; i < brushOutlinePoints; ++i) {
            const double angle = 2 * std::numbers::pi * i / brushOutlinePoints;
            const double x = d->brushRadiusMm * std::cos(angle),
                         y = d->brushRadiusMm * std::sin(angle);
            d->brushPoints->SetPoint(i, c[0] + x * right[0] + y * up[0],
                                     c[1] + x * right[1] + y * up[1],
                                     c[2] + x * right[2] + y * up[2]);
        }
        d->brushPoints->Modified();
    } else {
        d->brushCentre.reset();
    }
    if (show || brushOutlineShown()) {
        d->brushActor->SetVisibility(show);
        requestRender();
    }
}

int SliceView::normalIndexAxis() const {
    return d->layout.normalAxis;
}

void SliceView::setEditing(bool editing) {
    d->editing = editing;
    if (!editing && d->drag == Drag::Edit) {
        d->drag = Drag::None;
        d->lastEditVoxel.reset();
    }
}

bool SliceView::editing() const {
    return d->editing;
}

namespace {
std::optional<imaging::Index3> nearestVoxel(const std::optional<imaging::Vec3>& index) {
    if (!index)
        return std::nullopt;
    imaging::Index3 voxel;
    for (int a = 0; a < 3; ++a)
        voxel[a] = int(std::lround((*index)[a]));
    return voxel;
}
} // namespace

void SliceView::cursorChanged() {
    if (!hasImage())
        return;
    const SliceCursor& cursor = *d->cursor;
    d->mapper->SetSliceNumber(cursor.slice(d->plane));
    d->labelMapper->SetSliceNumber(cursor.slice(d->plane));
    refreshOutlines();
    if (d->brushCentre)
        placeBrushOutline(d->brushCentre); // onto the slice now shown

    const imaging::Vec3 centre = cursor.index();
    const auto endpoints = [&](int axis, int firstPoint) {
        imaging::Vec3 a = centre, b = centre;
        a[axis] = -0.5;
        b[axis] = d->dims[axis] - 0.5;
        const imaging::Vec3 wa = d->worldOf(a), wb = d->worldOf(b);
        d->crosshairPoints->SetPoint(firstPoint, wa.data());
        d->crosshairPoints->SetPoint(firstPoint + 1, wb.data());
    };
    endpoints(d->layout.rightAxis, 0);
    endpoints(d->layout.upAxis, 2);
    d->crosshairPoints->Modified();
    d->corners->SetText(0, sliceText().toUtf8().constData());
    requestRender();
}

QString SliceView::sliceText() const {
    if (!hasImage())
        return {};
    const int patientAxis = d->plane == ViewPlane::Axial     ? 2
                            : d->plane == ViewPlane::Coronal ? 1
                                                             : 0;
    return QStringLiteral("Slice %1 / %2\n%3")
        .arg(d->cursor->slice(d->plane) + 1)
        .arg(d->cursor->sliceCount(d->plane))
        .arg(patientCoordinate(patientAxis, d->cursor->lps()[patientAxis]));
}

void SliceView::setWindowLevel(const WindowLevel& windowLevel) {
    d->windowLevel = windowLevel;
    d->slice->GetProperty()->SetColorWindow(windowLevel.window);
    d->slice->GetProperty()->SetColorLevel(windowLevel.level);
    d->corners->SetText(1, QStringLiteral("W %1  L %2")
                               .arg(windowLevel.window, 0, 'f', 0)
                               .arg(windowLevel.level, 0, 'f', 0)
                               .toUtf8()
                               .constData());
    requestRender();
}

WindowLevel SliceView::windowLevel() const {
    return d->windowLevel;
}

void SliceView::resetView() {
    d->zoom = 1;
    d->panWorld = {0, 0, 0};
    placeCamera();
    emit zoomOrPanChanged();
}

void SliceView::zoomBy(double factor) {
    d->zoom = std::clamp(d->zoom * factor, 0.1, 50.0);
    placeCamera();
    emit zoomOrPanChanged();
}

double SliceView::zoom() const {
    return d->zoom;
}

imaging::Vec3 SliceView::pan() const {
    return d->panWorld;
}

void SliceView::setZoomAndPan(double zoom, const imaging::Vec3& pan) {
    d->zoom = std::clamp(zoom, 0.1, 50.0);
    d->panWorld = pan;
    placeCamera();
}

void SliceView::panBy(const QPointF& widgetPixels) {
    vtkCamera* camera = renderer()->GetActiveCamera();
    const double ratio = devicePixelRatioF();
    const double worldPerPixel =
        2 * camera->GetParallelScale() / std::max(1, deviceSize().height());
    for (int k = 0; k < 3; ++k)
        d->panWorld[k] -= (d->layout.screenRight[k] * widgetPixels.x() -
                           d->layout.screenUp[k] * widgetPixels.y()) *
                          ratio * worldPerPixel;
    placeCamera();
    emit zoomOrPanChanged();
}

void SliceView::resizeGL(int width, int height) {
    VtkOpenGLWidget::resizeGL(width, height);
    placeCamera();
}

void SliceView::placeCamera() {
    if (!hasImage())
        return;
    // Camera: looks along the view's patient axis at the volume's centre (plus pan), parallel
    // projection scaled so the whole slice fits at zoom 1.
    vtkCamera* camera = renderer()->GetActiveCamera();
    imaging::Vec3 centreIndex;
    for (int a = 0; a < 3; ++a)
        centreIndex[a] = (d->dims[a] - 1) / 2.0;
    imaging::Vec3 focal = d->worldOf(centreIndex);
    for (int k = 0; k < 3; ++k)
        focal[k] += d->panWorld[k];
    const double diagonal = std::sqrt(d->extent(0) * d->extent(0) + d->extent(1) * d->extent(1) +
                                      d->extent(2) * d->extent(2)) +
                            1;
    const auto& into = d->layout.intoScreen;
    camera->SetFocalPoint(focal.data());
    camera->SetPosition(focal[0] - into[0] * diagonal, focal[1] - into[1] * diagonal,
                        focal[2] - into[2] * diagonal);
    camera->SetViewUp(d->layout.screenUp.data());
    camera->SetClippingRange(0.01 * diagonal, 2.5 * diagonal);
    const QSize size = deviceSize();
    const double aspect = double(std::max(1, size.width())) / std::max(1, size.height());
    const double fit =
        std::max(d->extent(d->layout.upAxis) / 2, d->extent(d->layout.rightAxis) / (2 * aspect));
    camera->SetParallelScale(fit * 1.04 / d->zoom);
    requestRender();
}

std::optional<imaging::Vec3> SliceView::indexAt(const QPointF& widgetPosition) const {
    if (!hasImage())
        return std::nullopt;
    vtkRenderer* ren = renderer();
    const imaging::Vec3 onSlice = d->worldOf(d->cursor->index());
    ren->SetWorldPoint(onSlice[0], onSlice[1], onSlice[2], 1);
    ren->WorldToDisplay();
    const double depth = ren->GetDisplayPoint()[2];
    const QPointF display = toDisplay(widgetPosition);
    ren->SetDisplayPoint(display.x(), display.y(), depth);
    ren->DisplayToWorld();
    const double* w = ren->GetWorldPoint();
    const double h = w[3] != 0 ? w[3] : 1;
    imaging::Vec3 index = d->indexOf({w[0] / h, w[1] / h, w[2] / h});
    index[d->layout.normalAxis] = d->cursor->slice(d->plane);
    for (int a = 0; a < 3; ++a)
        if (index[a] < -0.5 || index[a] > d->dims[a] - 0.5)
            return std::nullopt;
    return index;
}

imaging::Vec3 SliceView::worldOf(const imaging::Vec3& index) const { // boxes: for BoxOverlay
    return d->worldOf(index);
}

QPointF SliceView::widgetPositionOf(const imaging::Vec3& index) const {
    vtkRenderer* ren = renderer();
    const imaging::Vec3 w = d->worldOf(index);
    ren->SetWorldPoint(w[0], w[1], w[2], 1);
    ren->WorldToDisplay();
    const double* display = ren->GetDisplayPoint();
    const double ratio = devicePixelRatioF();
    return QPointF(display[0] / ratio, (deviceSize().height() - 1 - display[1]) / ratio);
}

void SliceView::mousePressEvent(QMouseEvent* event) {
    setFocus(Qt::MouseFocusReason);
    if (!hasImage()) {
        event->accept();
        return;
    }
    d->dragStart = d->lastPosition = event->position();
    const bool shift = event->modifiers() & Qt::ShiftModifier;
    if (event->button() == Qt::LeftButton && !shift && d->editing) {
        d->drag = Drag::None;
        if (const auto voxel = nearestVoxel(indexAt(event->position()))) {
            d->drag = Drag::Edit;
            d->lastEditVoxel = voxel;
            emit editPointer(annotation::PointerPhase::Press, *voxel);
        }
    } else if (event->button() == Qt::LeftButton && !shift) {
        d->drag = Drag::Crosshair;
        if (const auto index = indexAt(event->position());
            index && d->cursor->moveInPlane(d->plane, *index))
            emit cursorMoved();
    } else if (event->button() == Qt::MiddleButton ||
               (event->button() == Qt::LeftButton && shift)) {
        d->drag = Drag::Pan;
    } else if (event->button() == Qt::RightButton) {
        d->drag = Drag::WindowLevel;
        d->dragStartWindowLevel = d->windowLevel;
    }
    event->accept();
}

void SliceView::mouseReleaseEvent(QMouseEvent* event) {
    if (d->drag == Drag::Edit && d->lastEditVoxel) {
        // A release outside the image ends the stroke where the pointer left it.
        const auto voxel = nearestVoxel(indexAt(event->position()));
        d->drag = Drag::None;
        emit editPointer(annotation::PointerPhase::Release, voxel ? *voxel : *d->lastEditVoxel);
        d->lastEditVoxel.reset();
    }
    d->drag = Drag::None;
    event->accept();
}

void SliceView::mouseMoveEvent(QMouseEvent* event) {
    if (!hasImage()) {
        event->accept();
        return;
    }
    const QPointF position = event->position();
    switch (d->drag) {
    case Drag::Crosshair:
        if (const auto index = indexAt(position); index && d->cursor->moveInPlane(d->plane, *index))
            emit cursorMoved();
        break;
    case Drag::Edit:
        if (const auto voxel = nearestVoxel(indexAt(position));
            voxel && voxel != d->lastEditVoxel) {
            d->lastEditVoxel = voxel;
            emit editPointer(annotation::PointerPhase::Drag, *voxel);
        }
        break;
    case Drag::Pan:
        panBy(position - d->lastPosition);
        break;
    case Drag::WindowLevel: {
        const QPointF moved = position - d->dragStart;
        const double unitsPerPixel = d->valueRange / 512.0;
        const WindowLevel value =
            d->dragStartWindowLevel.dragged(moved.x(), moved.y(), unitsPerPixel);
        setWindowLevel(value);
        emit windowLevelChanged(value);
        break;
    }
    case Drag::None:
        break;
    }
    d->lastPosition = position;
    const auto index = indexAt(position);
    placeBrushOutline(index);
    if (index)
        emit hovered(*index);
    else
        emit hoverLeft();
    event->accept();
}

void SliceView::wheelEvent(QWheelEvent* event) {
    event->accept();
    if (!hasImage())
        return;
    d->wheelRemainder += event->angleDelta().y();
    const int steps = d->wheelRemainder / 120;
    d->wheelRemainder -= steps * 120;
    if (steps == 0)
        return;
    if (event->modifiers() & Qt::ControlModifier)
        zoomBy(std::pow(1.15, steps));
    else if (d->cursor->step(d->plane, steps))
        emit cursorMoved();
}

void SliceView::keyPressEvent(QKeyEvent* event) {
    if (!hasImage() || event->modifiers() & (Qt::ControlModifier | Qt::AltModifier)) {
        VtkOpenGLWidget::keyPressEvent(event);
        return;
    }
    bool moved = false;
    switch (event->key()) {
    case Qt::Key_Up:
    case Qt::Key_Right:
        moved = d->cursor->step(d->plane, 1);
        break;
    case Qt::Key_Down:
    case Qt::Key_Left:
        moved = d->cursor->step(d->plane, -1);
        break;
    case Qt::Key_PageUp:
        moved = d->cursor->step(d->plane, 10);
        break;
    case Qt::Key_PageDown:
        moved = d->cursor->step(d->plane, -10);
        break;
    case Qt::Key_Home:
        moved = d->cursor->setSlice(d->plane, 0);
        break;
    case Qt::Key_End:
        moved = d->cursor->setSlice(d->plane, d->cursor->sliceCount(d->plane) - 1);
        break;
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoomBy(1.25);
        break;
    case Qt::Key_Minus:
        zoomBy(1 / 1.25);
        break;
    case Qt::Key_R:
        resetView();
        break;
    default:
        VtkOpenGLWidget::keyPressEvent(event);
        return;
    }
    if (moved)
        emit cursorMoved();
    event->accept();
}

void SliceView::leaveEvent(QEvent* event) {
    placeBrushOutline(std::nullopt);
    emit hoverLeft();
    VtkOpenGLWidget::leaveEvent(event);
}

} // namespace radmark::viewer
