#include "viewer/VolumeView.h"

#include "viewer/LabelEditor.h"
#include "viewer/SegmentSurfaces.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QPointer>
#include <QThreadPool>
#include <QTimer>

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkColorTransferFunction.h>
#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkPiecewiseFunction.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderWindowInteractor.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkSmartVolumeMapper.h>
#include <vtkVolume.h>
#include <vtkVolumeProperty.h>

#include <cstring>
#include <map>
#include <utility>

namespace radmark::viewer {

namespace {
// The pause after the last edit before surfaces are extracted again: a brush drag stamps every
// few milliseconds, and re-meshing an organ takes longer than that.
constexpr int surfaceUpdateDelayMs = 300;
} // namespace

struct VolumeView::Private {
    vtkSmartPointer<vtkImageData> image;
    vtkSmartPointer<vtkSmartVolumeMapper> mapper;
    vtkSmartPointer<vtkVolume> volume;
    vtkSmartPointer<vtkVolumeProperty> property;
    double percentile99 = 1;
    std::string presetName;
    bool softwareGl = false;
    bool volumeShown = true;
    // Index space scaled by spacing -> patient LPS, shared by the volume and the surfaces.
    vtkSmartPointer<vtkMatrix4x4> placement = vtkSmartPointer<vtkMatrix4x4>::New();
    LabelEditor* editor = nullptr;
    SegmentSurfaces surfaces;
    std::map<annotation::Label, vtkSmartPointer<vtkActor>> surfaceActors;
    QTimer surfaceTimer;
    bool meshing = false;     // a batch of surfaces is being meshed on a pool thread
    bool updateAgain = false; // edits came in meanwhile
    int generation = 0;       // counts annotations replaced; older batches are dropped

    void removeSurfaces(vtkRenderer* renderer) {
        for (auto& [label, actor] : surfaceActors)
            renderer->RemoveActor(actor);
        surfaceActors.clear();
        surfaces.clear();
        ++generation;
    }
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
    d->volume->SetUserMatrix(d->placement);
    d->surfaceTimer.setSingleShot(true);
    d->surfaceTimer.setInterval(surfaceUpdateDelayMs);
    connect(&d->surfaceTimer, &QTimer::timeout, this, &VolumeView::updateSurfacesNow);
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
    d->placement->Identity();
    for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c)
            d->placement->SetElement(r, c, geometry.direction[r * 3 + c]);
        d->placement->SetElement(r, 3, geometry.origin[r]);
    }
    d->mapper->SetInputData(image);
    d->volume->SetVisibility(d->volumeShown);
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

void VolumeView::followSegments(LabelEditor* editor) {
    if (d->editor)
        disconnect(d->editor, nullptr, this, nullptr);
    d->removeSurfaces(renderer());
    d->editor = editor;
    if (!editor)
        return;
    connect(editor, &LabelEditor::labelsChanged, this, &VolumeView::scheduleSurfaceUpdate);
    connect(editor, &LabelEditor::segmentsChanged, this, [this] {
        applySegmentDisplay();
        scheduleSurfaceUpdate(); // a segment shown again may have been edited while hidden
    });
    connect(editor, &LabelEditor::annotationReplaced, this, [this] {
        d->removeSurfaces(renderer());
        requestRender();
        scheduleSurfaceUpdate();
    });
    scheduleSurfaceUpdate();
}

void VolumeView::scheduleSurfaceUpdate() {
    d->surfaceTimer.start(); // restarts: only the pause after the last edit counts
}

bool VolumeView::surfaceUpdatePending() const {
    return d->surfaceTimer.isActive() || d->meshing;
}

void VolumeView::updateSurfacesNow() {
    d->surfaceTimer.stop();
    if (d->meshing) { // one batch at a time; the next starts when this one is shown
        d->updateAgain = true;
        return;
    }
    if (!d->editor || !d->editor->hasAnnotation()) {
        d->removeSurfaces(renderer());
        requestRender();
        return;
    }
    QElapsedTimer clock;
    clock.start();
    std::vector<annotation::Label> wanted, emptied;
    for (const annotation::Segment& segment : d->editor->segments().all())
        if (segment.visible)
            wanted.push_back(segment.label);
    std::vector<SurfaceJob> jobs = d->surfaces.changes(d->editor->labels(), wanted, emptied);
    for (annotation::Label label : emptied) {
        if (auto actor = d->surfaceActors.find(label); actor != d->surfaceActors.end()) {
            renderer()->RemoveActor(actor->second);
            d->surfaceActors.erase(actor);
        }
    }
    if (jobs.empty()) {
        applySegmentDisplay();
        emit surfacesUpdated(double(clock.nsecsElapsed()) / 1e6);
        return;
    }
    // Smoothing and flying edges on a pool thread: the masks are copies, so painting goes on
    // while an organ is meshed.
    d->meshing = true;
    QPointer<VolumeView> view(this);
    const int generation = d->generation;
    QThreadPool::globalInstance()->start([view, generation, jobs = std::move(jobs), clock] {
        std::vector<vtkSmartPointer<vtkPolyData>> meshes;
        try {
            for (const SurfaceJob& job : jobs)
                meshes.push_back(meshSurface(job));
        } catch (...) {
            // Out of memory on a huge segment, say: no surfaces this time, and never an
            // exception escaping a pool thread (that would end the app with the user's edits).
            meshes.clear();
        }
        QCoreApplication* app = QCoreApplication::instance();
        if (!app) // quitting: nobody is left to show them
            return;
        QMetaObject::invokeMethod(
            app,
            [view, generation, jobs, meshes = std::move(meshes), clock] {
                if (view)
                    view->showMeshes(generation, jobs, meshes, double(clock.nsecsElapsed()) / 1e6);
            },
            Qt::QueuedConnection);
    });
}

void VolumeView::showMeshes(int generation, const std::vector<SurfaceJob>& jobs,
                            const std::vector<vtkSmartPointer<vtkPolyData>>& meshes,
                            double milliseconds) {
    d->meshing = false;
    // A batch for an annotation replaced meanwhile, or one that failed (meshes missing), leaves
    // the surfaces as they were.
    if (generation == d->generation && meshes.size() == jobs.size()) {
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            const annotation::Label label = jobs[i].label;
            d->surfaces.store(jobs[i], meshes[i]);
            auto actor = d->surfaceActors.find(label);
            if (actor == d->surfaceActors.end()) {
                auto created = vtkSmartPointer<vtkActor>::New();
                auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
                mapper->ScalarVisibilityOff();
                created->SetMapper(mapper);
                created->SetUserMatrix(d->placement);
                renderer()->AddActor(created);
                actor = d->surfaceActors.emplace(label, created).first;
            }
            static_cast<vtkPolyDataMapper*>(actor->second->GetMapper())->SetInputData(meshes[i]);
        }
        applySegmentDisplay();
        emit surfacesUpdated(milliseconds);
    }
    if (std::exchange(d->updateAgain, false))
        updateSurfacesNow();
}

void VolumeView::applySegmentDisplay() {
    for (auto it = d->surfaceActors.begin(); it != d->surfaceActors.end();) {
        const annotation::Segment* segment =
            d->editor ? d->editor->segments().find(it->first) : nullptr;
        if (!segment) { // removed
            renderer()->RemoveActor(it->second);
            d->surfaces.forget(it->first);
            it = d->surfaceActors.erase(it);
            continue;
        }
        vtkProperty* property = it->second->GetProperty();
        property->SetColor(segment->colour.r / 255.0, segment->colour.g / 255.0,
                           segment->colour.b / 255.0);
        property->SetOpacity(segment->opacity);
        property->SetSpecular(0.2);
        it->second->SetVisibility(segment->visible);
        ++it;
    }
    requestRender();
}

vtkPolyData* VolumeView::shownSurface(std::uint16_t label) const {
    const auto actor = d->surfaceActors.find(label);
    if (actor == d->surfaceActors.end() || !actor->second->GetVisibility())
        return nullptr;
    return d->surfaces.surfaceOf(label);
}

void VolumeView::setVolumeRenderingShown(bool shown) {
    if (shown == d->volumeShown)
        return;
    d->volumeShown = shown;
    d->volume->SetVisibility(shown && d->image);
    requestRender();
    emit volumeRenderingShownChanged(shown);
}

bool VolumeView::volumeRenderingShown() const {
    return d->volumeShown;
}

} // namespace radmark::viewer
