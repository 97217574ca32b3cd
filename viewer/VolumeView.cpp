#include "viewer/VolumeView.h"

#include <QOpenGLContext>
#include <QOpenGLFunctions>

#include <vtkCamera.h>
#include <vtkColorTransferFunction.h>
#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkPiecewiseFunction.h>
#include <vtkRenderWindowInteractor.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkSmartVolumeMapper.h>
#include <vtkVolume.h>
#include <vtkVolumeProperty.h>

#include <cstring>

namespace radmark::viewer {

struct VolumeView::Private {
    vtkSmartPointer<vtkImageData> image;
    vtkSmartPointer<vtkSmartVolumeMapper> mapper;
    vtkSmartPointer<vtkVolume> volume;
    vtkSmartPointer<vtkVolumeProperty> property;
    double percentile99 = 1;
    std::string presetName;
    bool softwareGl = false;
};

VolumeView::VolumeView(QWidget* parent) : VtkOpenGLWidget(parent), d(new Private) {
    setObjectName(QStringLiteral("volumeView"));
    renderer()->SetBackground(0.08, 0.08, 0.1);
    d->mapper = vtkSmartPointer<vtkSmartVolumeMapper>::New();
    // Software GL renders a full-quality frame in about half a second: while the mouse is down
    // the interactor asks for 10 frames a second and the mapper coarsens its sampling to match.
    d->mapper->SetInteractiveUpdateRate(2.0);
    d->mapper->InteractiveAdjustSampleDistancesOn();
    d->mapper->AutoAdjustSampleDistancesOff(); // full quality when still
    d->property = vtkSmartPointer<vtkVolumeProperty>::New();
    d->property->SetInterpolationTypeToLinear();
    d->property->ShadeOn();
    d->volume = vtkSmartPointer<vtkVolume>::New();
    d->volume->SetMapper(d->mapper);
    d->volume->SetProperty(d->property);
    d->volume->VisibilityOff();
    renderer()->AddVolume(d->volume);
    interactor()->SetDesiredUpdateRate(10.0);
    interactor()->SetStillUpdateRate(0.001);
}

VolumeView::~VolumeView() = default;

void VolumeView::initializeGL() {
    VtkOpenGLWidget::initializeGL();
    // On software OpenGL (llvmpipe here) VTK's multi-threaded CPU ray caster is an order of
    // magnitude faster than the GPU ray caster emulated in software (measured with
    // bench_volume_render); on real graphics hardware the GPU mapper wins.
    const auto* name =
        reinterpret_cast<const char*>(context()->functions()->glGetString(GL_RENDERER));
    d->softwareGl = name && (std::strstr(name, "llvmpipe") || std::strstr(name, "softpipe") ||
                             std::strstr(name, "Software Rasterizer"));
    if (d->softwareGl)
        d->mapper->SetRequestedRenderModeToRayCast();
    else
        d->mapper->SetRequestedRenderModeToDefault();
}

bool VolumeView::usesSoftwareGl() const {
    return d->softwareGl;
}

void VolumeView::setImage(vtkImageData* image, const imaging::Geometry& geometry,
                          double percentile99) {
    d->image = image;
    d->percentile99 = percentile99 > 0 ? percentile99 : 1;
    // World = true LPS: direction and origin as a prop matrix (the mapper sees index space).
    auto matrix = vtkSmartPointer<vtkMatrix4x4>::New();
    for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c)
            matrix->SetElement(r, c, geometry.direction[r * 3 + c]);
        matrix->SetElement(r, 3, geometry.origin[r]);
    }
    d->volume->SetUserMatrix(matrix);
    d->mapper->SetInputData(image);
    d->volume->VisibilityOn();
    resetView();
}

void VolumeView::clearImage() {
    d->volume->VisibilityOff();
    d->mapper->SetInputData(static_cast<vtkImageData*>(nullptr));
    d->image = nullptr;
    requestRender();
}

bool VolumeView::hasImage() const {
    return d->image != nullptr;
}

void VolumeView::applyPreset(const VolumeRenderingPreset& preset) {
    const double scale = preset.relativeToPercentile ? d->percentile99 : 1.0;
    auto opacity = vtkSmartPointer<vtkPiecewiseFunction>::New();
    for (const auto& p : preset.opacity)
        opacity->AddPoint(p.value * scale, p.opacity);
    auto colour = vtkSmartPointer<vtkColorTransferFunction>::New();
    for (const auto& p : preset.colour)
        colour->AddRGBPoint(p.value * scale, p.red, p.green, p.blue);
    d->property->SetScalarOpacity(opacity);
    d->property->SetColor(colour);
    d->property->SetAmbient(preset.ambient);
    d->property->SetDiffuse(preset.diffuse);
    d->property->SetSpecular(preset.specular);
    d->presetName = preset.name;
    requestRender();
}

const std::string& VolumeView::presetName() const {
    return d->presetName;
}

void VolumeView::resetView() {
    vtkCamera* camera = renderer()->GetActiveCamera();
    camera->SetFocalPoint(0, 0, 0);
    camera->SetPosition(0, -1, 0); // in front of the patient (anterior), looking posterior
    camera->SetViewUp(0, 0, 1);    // head up
    renderer()->ResetCamera();
    camera->Zoom(1.3);
    requestRender();
}

} // namespace radmark::viewer
