#pragma once
// The 3D view: GPU (or CPU) volume rendering of the whole volume with a transfer-function
// preset. Left-drag rotates, middle-drag pans, right-drag or wheel zooms (VTK trackball).
// Renders at reduced quality while the mouse is down and at full quality when still.

#include "viewer/VolumeRenderingPreset.h"
#include "viewer/VtkOpenGLWidget.h"

#include "imaging/Volume.h"

#include <memory>

class vtkImageData;

namespace radmark::viewer {

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

  protected:
    void initializeGL() override;

  private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
