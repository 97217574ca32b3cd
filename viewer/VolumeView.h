#pragma once
// The 3D view: GPU (or CPU) volume rendering of the whole volume with a transfer-function
// preset. Left-drag rotates, middle-drag pans, right-drag or wheel zooms (VTK trackball).
// Renders at reduced quality while the mouse is down and at full quality when still.
// Segments of the label editor it follows show as surfaces in their colour and opacity, with
// the volume rendering or instead of it.

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "viewer/SegmentSurfaces.h"
#endif
#include "viewer/VolumeRenderingPreset.h"
#include "viewer/VtkOpenGLWidget.h"

#include "imaging/Volume.h"

#include <memory>

class vtkImageData;
class vtkPolyData;

namespace radmark::viewer {

class LabelEditor;

class VolumeView : public VtkOpenGLWidget {
    Q_OBJECT
  public:
    explicit VolumeView(QWidget* parent = nullptr);
    ~VolumeView() override;

    // `image` wraps `geometry`'s voxels in index space (origin 0, identity direction);
    // `percentile99` scales MR presets.
    void setImage(vtkImageData* image, const imaging::Geometry& geometry, double percentile99);
    void clearImage();
    bool hasImage() const;

    void applyPreset(const VolumeRenderingPreset& preset);
    const std::string& presetName() const;
    void resetView(); // anterior view, head up
    // True on software OpenGL, where the 3D view uses VTK's CPU ray caster instead of the GPU one.
    bool usesSoftwareGl() const;

    // Shows the visible segments of `editor` as surfaces, re-extracted 300 ms after the last
    // edit (never per brush stamp); colour, opacity and visibility follow at once.
    void followSegments(LabelEditor* editor);
    // Without waiting for the pause after an edit; the changed surfaces are meshed on a pool
    // thread and shown when ready (surfacesUpdated).
    void updateSurfacesNow();
    bool surfaceUpdatePending() const; // waiting for the pause, or meshing
    vtkPolyData* shownSurface(std::uint16_t label) const; // null when not shown
    // Shift+3: the surfaces alone, or together with the volume rendering.
    void setVolumeRenderingShown(bool shown);
    bool volumeRenderingShown() const;

  signals:
    void surfacesUpdated(double milliseconds); // after each extraction, with its duration
    void volumeRenderingShownChanged(bool shown);

  protected:
    void initializeGL() override;

  private:
    void scheduleSurfaceUpdate();
    void showMeshes(int generation, const std::vector<SurfaceJob>& jobs,
                    const std::vector<vtkSmartPointer<vtkPolyData>>& meshes, double milliseconds);
    void applySegmentDisplay();
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
