#include "viewer/FourUpViewer.h"

#include "viewer/VolumeImageData.h"

#include <QGridLayout>

#include <vtkImageData.h>
#include <vtkMatrix3x3.h>

#include <array>
#include <cmath>

namespace radmark::viewer {

struct FourUpViewer::Private {
    std::shared_ptr<imaging::Volume> volume;
    vtkSmartPointer<vtkImageData> image;
    SliceCursor cursor;
    std::array<SliceView*, 3> slices{};
    VolumeView* volumeView = nullptr;
    QWidget* maximised = nullptr;
    WindowLevel windowLevel;
    LabelEditor* editor = nullptr;
    BoxInteraction* boxes = nullptr; // boxes: the box tools' pointer gestures and overlays
};

FourUpViewer::FourUpViewer(QWidget* parent) : QWidget(parent), d(new Private) {
    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setSpacing(2);
    for (ViewPlane plane : allViewPlanes) {
        auto* view = new SliceView(plane, this);
        d->slices[int(plane)] = view;
        connect(view, &SliceView::cursorMoved, this, &FourUpViewer::onCursorMoved);
        connect(view, &SliceView::windowLevelChanged, this, &FourUpViewer::setWindowLevel);
        connect(view, &SliceView::hovered, this,
                [this](imaging::Vec3 index) { emit statusMessage(describePoint(index)); });
        connect(view, &VtkOpenGLWidget::doubleClicked, this,
                [this, view] { toggleMaximised(view); });
    }
    d->editor = new LabelEditor(this);
    connect(d->editor, &LabelEditor::labelsChanged, this, &FourUpViewer::onLabelsChanged);
    connect(d->editor, &LabelEditor::statusMessage, this, &FourUpViewer::statusMessage);
    connect(d->editor, &LabelEditor::toolChanged, this, [this] {
        for (auto* view : d->slices)
            view->setEditing(d->editor->pointerEdits());
        showBrushOutline();
    });
    connect(d->editor, &LabelEditor::toolSettingChanged, this, &FourUpViewer::showBrushOutline);
    for (auto* view : d->slices) {
        connect(view, &SliceView::editPointer, this,
                [this, view](annotation::PointerPhase phase, imaging::Index3 voxel) {
                    d->editor->handlePointer(phase, voxel, view->normalIndexAxis());
                });
    }
    // Boxes: the box tools take the same pointer events (the label editor ignores them) and
    // redraw the views' boxes when the shown slices change.
    d->boxes = new BoxInteraction(*d->editor, d->cursor, d->slices, this);
    for (auto* view : d->slices) {
        connect(view, &SliceView::editPointer, d->boxes,
                [this, view](annotation::PointerPhase phase, imaging::Index3 voxel) {
                    d->boxes->handlePointer(*view, phase, voxel);
                });
    }
    connect(d->boxes, &BoxInteraction::statusMessage, this, &FourUpViewer::statusMessage);
    connect(this, &FourUpViewer::cursorChanged, d->boxes, &BoxInteraction::refresh);
    d->volumeView = new VolumeView(this);
    connect(d->volumeView, &VtkOpenGLWidget::doubleClicked, this,
            [this] { toggleMaximised(d->volumeView); });
    // Segments (3D surfaces): the 3D view re-meshes visible segments after edits, debounced.
    d->volumeView->followSegments(d->editor);
    grid->addWidget(d->slices[int(ViewPlane::Axial)], 0, 0);
    grid->addWidget(d->volumeView, 0, 1);
    grid->addWidget(d->slices[int(ViewPlane::Coronal)], 1, 0);
    grid->addWidget(d->slices[int(ViewPlane::Sagittal)], 1, 1);
    setAcceptDrops(false); // the main window takes drops
}

FourUpViewer::~FourUpViewer() {
    delete d->boxes; // boxes: goes before the views and the cursor it draws with
    // Views hold the wrapped image; release them before the volume goes.
    for (auto* view : d->slices)
        view->clearImage();
    d->volumeView->clearImage();
}

void FourUpViewer::setVolume(std::shared_ptr<imaging::Volume> volume) {
    clearVolume();
    if (!volume || volume->empty())
        return;
    d->volume = std::move(volume);
    d->cursor = SliceCursor(d->volume->geometry());
    // Views work in voxel index space (scaled by spacing); each places it in patient space.
    d->image = wrapVolume(*d->volume);
    d->image->SetOrigin(0, 0, 0);
    const double identity[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    d->image->SetDirectionMatrix(identity);
    const auto [min, max] = d->volume->scalarRange();
    for (auto* view : d->slices)
        view->setImage(d->image, &d->cursor, max - min);
    d->editor->startAnnotation(d->volume.get());
    for (auto* view : d->slices)
        view->setLabelOverlay(d->editor->overlayImage(), d->editor->overlayColours(),
                              d->editor->outlineColours());
    applyDefaultWindowLevel();
    d->volumeView->setImage(d->image, d->volume->geometry(), intensityPercentile(*d->volume, 0.99));
    const bool ct = d->volume->modality == "CT";
    applyVolumeRenderingPreset(*findVolumeRenderingPreset(ct ? "CT bone" : "MR"));
    emit cursorChanged();
}

void FourUpViewer::clearVolume() {
    for (auto* view : d->slices)
        view->clearImage();
    d->volumeView->clearImage();
    d->editor->startAnnotation(nullptr);
    d->image = nullptr;
    d->volume.reset();
    d->cursor = SliceCursor();
}

const imaging::Volume* FourUpViewer::volume() const {
    return d->volume.get();
}

SliceView* FourUpViewer::sliceView(ViewPlane plane) const {
    return d->slices[int(plane)];
}
VolumeView* FourUpViewer::volumeView() const {
    return d->volumeView;
}
const SliceCursor& FourUpViewer::cursor() const {
    return d->cursor;
}

void FourUpViewer::moveCursorTo(const imaging::Vec3& index) {
    if (d->volume && d->cursor.moveTo(index))
        onCursorMoved();
}

void FourUpViewer::onCursorMoved() {
    for (auto* view : d->slices)
        view->cursorChanged();
    emit statusMessage(describePoint(d->cursor.index()));
    emit cursorChanged();
}

LabelEditor* FourUpViewer::labelEditor() const {
    return d->editor;
}

BoxInteraction* FourUpViewer::boxInteraction() const {
    return d->boxes;
}

void FourUpViewer::showBrushOutline() {
    const bool brush = LabelEditor::isBrush(d->editor->toolName());
    for (auto* view : d->slices)
        view->setBrushOutline(brush ? d->editor->brushRadiusMm() : 0, d->editor->sphereBrush());
}

void FourUpViewer::onLabelsChanged() {
    for (auto* view : d->slices)
        view->labelsChanged();
}

void FourUpViewer::setWindowLevel(const WindowLevel& windowLevel) {
    d->windowLevel = windowLevel;
    for (auto* view : d->slices)
        view->setWindowLevel(windowLevel);
    d->editor->setShownIntensityRange(windowLevel.low(), windowLevel.high());
}

WindowLevel FourUpViewer::windowLevel() const {
    return d->windowLevel;
}

void FourUpViewer::applyDefaultWindowLevel() {
    if (d->volume)
        setWindowLevel(defaultWindowLevel(*d->volume));
}

void FourUpViewer::applyVolumeRenderingPreset(const VolumeRenderingPreset& preset) {
    d->volumeView->applyPreset(preset);
}

void FourUpViewer::resetViews() {
    for (auto* view : d->slices)
        view->resetView();
    d->volumeView->resetView();
}

QWidget* FourUpViewer::maximisedView() const {
    return d->maximised;
}

void FourUpViewer::toggleMaximised(QWidget* view) {
    const bool restore = d->maximised != nullptr;
    d->maximised = restore ? nullptr : view;
    for (auto* slice : d->slices)
        slice->setVisible(restore || slice == view);
    d->volumeView->setVisible(restore || d->volumeView == view);
}

QString FourUpViewer::describePoint(const imaging::Vec3& index) const {
    if (!d->volume)
        return {};
    const imaging::Vec3 lps = d->volume->geometry().indexToLps(index);
    imaging::Index3 voxel;
    for (int a = 0; a < 3; ++a)
        voxel[a] = int(std::lround(index[a]));
    QString text = QStringLiteral("%1 %2, %3 %4, %5 %6 mm")
                       .arg(lps[0] >= 0 ? 'L' : 'R')
                       .arg(std::abs(lps[0]), 0, 'f', 1)
                       .arg(lps[1] >= 0 ? 'P' : 'A')
                       .arg(std::abs(lps[1]), 0, 'f', 1)
                       .arg(lps[2] >= 0 ? 'S' : 'I')
                       .arg(std::abs(lps[2]), 0, 'f', 1);
    if (d->volume->geometry().contains(voxel)) {
        const double value = d->volume->valueAt(voxel[0], voxel[1], voxel[2]);
        const bool integral = d->volume->pixelType() != imaging::PixelType::Float32;
        text += QStringLiteral("   voxel (%1, %2, %3)   value %4%5")
                    .arg(voxel[0])
                    .arg(voxel[1])
                    .arg(voxel[2])
                    .arg(value, 0, 'f', integral ? 0 : 2)
                    .arg(d->volume->modality == "CT" ? QStringLiteral(" HU") : QString());
    }
    return text;
}

void FourUpViewer::renderAll() {
    for (auto* view : d->slices)
        if (view->isVisible())
            view->renderNow();
    if (d->volumeView->isVisible())
        d->volumeView->renderNow();
}

} // namespace radmark::viewer
