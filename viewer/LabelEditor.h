#pragma once
// The thin Qt side of label editing: owns the annotation being edited (label map on the shown
// volume's grid, segments, undo history), the active tool and the overlay image that wraps the
// label map's buffer for the slice views. Slice views report pointer voxels; this class turns
// them into calls of the Qt-free annotation tools and says when the overlay must be redrawn.

#ifndef Q_MOC_RUN // moc cannot parse <concepts>, which the annotation headers use
#include "annotation/Tool.h"
#include "annotation/Version.h"
#endif
#include "imaging/Volume.h"

#include <QObject>

#include <vtkSmartPointer.h>

#include <memory>

class vtkImageData;
class vtkLookupTable;

namespace radmark::viewer {

enum class EditMode { Navigate, Paint, Erase };

class LabelEditor : public QObject {
    Q_OBJECT
  public:
    explicit LabelEditor(QObject* parent = nullptr);
    ~LabelEditor() override;

    // A fresh, empty annotation on the volume's grid with one default segment; nullptr clears.
    void startAnnotation(const imaging::Volume* volume);
    bool hasAnnotation() const;
    // Continues a stored annotation on the same grid: its labels, segments and boxes replace the
    // current ones and undo starts afresh. False (nothing changed) when the grid differs.
    bool continueFrom(const annotation::OpenedAnnotation& opened);

    const annotation::LabelMap& labels() const;
    annotation::LabelMap& labelsForSaving(); // a save clears the chunks' dirty flags
    const annotation::BoxList& boxes() const;
    const annotation::SegmentList& segments() const;
    annotation::Label activeSegment() const;
    const annotation::UndoHistory& history() const;

    // The label map wrapped without a copy (voxel index space, the volume's spacing) and the
    // colours of its values; both null without an annotation.
    vtkImageData* overlayImage() const;
    vtkLookupTable* overlayColours() const;

    void setMode(EditMode mode);
    EditMode mode() const;
    double brushRadiusMm() const;
    void setBrushRadiusMm(double radius); // clamped to the brush's range
    void growBrush();
    void shrinkBrush();

    // A pointer event from a slice view whose normal is voxel axis `normalAxis`.
    void handlePointer(annotation::PointerPhase phase, const imaging::Index3& voxel,
                       int normalAxis);

    bool undo(); // false when there was nothing to undo
    bool redo();

  signals:
    void labelsChanged(); // the overlay image was modified; views should repaint
    void modeChanged(EditMode mode);
    void statusMessage(const QString& text);

  private:
    void activateTool();
    void overlayModified();
    void rebuildColours();
    QString brushText() const;

    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
