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

#include <functional>
#include <memory>
#include <string>

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

    // Segments: the segments panel edits through these; each emits segmentsChanged() and
    // refreshes the overlay colours. A new segment gets the next free label and becomes active.
    annotation::Label addSegment(annotation::Segment segment);
    void editSegment(annotation::Label label,
                     const std::function<void(annotation::Segment&)>& edit);
    // Clears the segment's voxels and boxes and removes it. Not undoable: the undo history is
    // cleared, because older records would bring back voxels of a segment that no longer exists.
    void removeSegment(annotation::Label label);
    void setActiveSegment(annotation::Label label); // painting tools switch to it

    // A read-only annotation (a stored version opened for viewing): tools refuse to edit it with
    // a message, undo/redo do nothing.
    void setReadOnly(bool readOnly);
    bool readOnly() const;

    // Boxes: `edit` changes the list (add2D/add3D, move, resize, remove) and returns its
    // BoxChange, which becomes one undo record named `description`; emits boxesChanged(). A
    // BoxError, or a read-only annotation, becomes a status message and changes nothing.
    void editBoxes(const std::function<annotation::BoxChange(annotation::BoxList&)>& edit,
                   const std::string& description);

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
    void segmentsChanged();   // added, removed, renamed, recoloured, shown/hidden, locked
    void activeSegmentChanged(annotation::Label label);
    void boxesChanged();
    void annotationReplaced(); // started, continued from a version or cleared
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
