#pragma once
// The thin Qt side of label editing: owns the annotation being edited (label map on the shown
// volume's grid, segments, undo history), the active tool and the overlay image that wraps the
// label map's buffer for the slice views. Slice views report pointer voxels; this class turns
// them into calls of the Qt-free annotation tools and says when the overlay must be redrawn.

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "annotation/Tool.h"
#include "annotation/Version.h"
#endif
#include "imaging/Volume.h"

#include <QObject>
#include <QStringList>

#include <vtkSmartPointer.h>

#include <functional>
#include <memory>
#include <string>

class vtkImageData;
class vtkLookupTable;

namespace radmark::viewer {

// Shorthand for the first tools, kept for callers that only paint: "" (navigation), "paint" and
// "erase".
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
    // colours of its values: overlayColours for segments shown filled, outlineColours for those
    // shown as an outline (the slice views draw only their boundary); hidden segments and
    // segments shown the other way are transparent. All null without an annotation.
    vtkImageData* overlayImage() const;
    vtkLookupTable* overlayColours() const;
    vtkLookupTable* outlineColours() const;

    // Tools: "" navigates (a left drag moves the crosshair), or any tool of
    // annotation::toolDescriptions(). Box tools put the views in editing too, but the box
    // drawing handles their pointer events itself; the editor ignores them. False for an
    // unknown name. An edit still open (a region grow being tuned) is finished into the history
    // first.
    bool selectTool(const QString& name);
    QString toolName() const;
    // The selected annotation tool, whose settings the tools panel shows; nullptr for navigation
    // and boxes. Change settings through setToolSetting, which refreshes what they change.
    const annotation::Tool* tool() const;
    // Whether a left drag in a slice view edits (pointer and box tools) instead of moving the
    // crosshair; whole-segment tools leave the views navigating until Apply.
    bool pointerEdits() const;
    // What the registry says about a tool; nullptr for navigation ("") and unknown names.
    static const annotation::ToolDescription* toolDescription(const QString& name);
    static bool isBrush(const QString& name); // shows the brush circle, takes [ ] and Shift+S
    // Every tool name selectTool accepts, in the order a tool list shows them (navigation,
    // pointer tools, box tools, whole-segment tools), and the title a radiologist reads for each
    // ("Region grow").
    static QStringList toolList();
    static QString toolTitle(const QString& name);
    static bool isWholeSegmentTool(const QString& name); // has an Apply, no pointer use
    void setMode(EditMode mode);                         // selectTool("") / ("paint") / ("erase")

    // Sets a setting of the selected tool (clamped to its range) and emits toolSettingChanged;
    // a region grow being tuned regrows inside the same undo step and the overlay refreshes.
    void setToolSetting(const QString& key, double value);
    // Runs a whole-segment tool (the selected one when `name` is empty) on the active segment as
    // one undo step; says what changed, or why nothing did, in a status message. False when
    // nothing changed (empty segment, locked, read-only, not a whole-segment tool).
    bool applyTool(const QString& name = {});
    // The intensity range the slice views show (the window). Tools with an intensity range
    // (threshold paint, region grow) start from it when first chosen, and
    // useShownIntensityRange() copies it into the selected tool's range.
    void setShownIntensityRange(double lower, double upper);
    void useShownIntensityRange();

    // Brushes (paint, erase, threshold paint) share their radius and shape.
    double brushRadiusMm() const;
    void setBrushRadiusMm(double radius); // clamped to the brush's range
    void growBrush();
    void shrinkBrush();
    bool sphereBrush() const;
    void setSphereBrush(bool sphere); // a 3D sphere instead of a 2D disc in the view's plane
    void toggleSphereBrush();

    // A pointer event from a slice view whose normal is voxel axis `normalAxis`.
    void handlePointer(annotation::PointerPhase phase, const imaging::Index3& voxel,
                       int normalAxis);

    bool undo(); // false when there was nothing to undo
    bool redo();

  signals:
    void labelsChanged();   // the overlay image was modified; views should repaint
    void segmentsChanged(); // added, removed, renamed, recoloured, shown/hidden, locked
    void activeSegmentChanged(annotation::Label label);
    void boxesChanged();
    void annotationReplaced(); // started, continued from a version or cleared
    void toolChanged(const QString& name);
    void toolSettingChanged(const QString& key, double value); // of the selected tool
    void statusMessage(const QString& text);

  private:
    annotation::Tool& toolNamed(const std::string& name);
    void onSettingChanged(const std::string& toolName, const annotation::ToolSetting& setting);
    bool bindTool(annotation::Tool& tool);
    void bindSelectedTool();
    void finishOpenEdit();
    void refreshChangedLabels(annotation::Tool& tool);
    std::uint64_t activeSegmentVoxels() const;
    QString seedEditText(const imaging::Index3& seed) const;
    void overlayModified();
    void rebuildColours();
    QString brushText() const;

    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
