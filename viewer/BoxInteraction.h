#pragma once
// The thin Qt side of bounding boxes: while a box tool (annotation::ToolKind::Box; its
// description says whether it draws 2D or 3D boxes) is selected in the label editor, slice-view
// pointer events drive an annotation::BoxGesture (draw, move, resize by a handle); each finished
// drag becomes ONE LabelEditor::editBoxes call (one undo step). Keeps a BoxOverlay on every
// slice view in step with the boxes, the selection, the segments (colour, hidden) and the shown
// slices.

#ifndef Q_MOC_RUN // Qt 6.4's moc fails on libstdc++'s <concepts>, which <compare> pulls in
#include "annotation/BoxGesture.h"
#include "annotation/Tool.h"
#endif
#include "viewer/BoxOverlay.h"
#include "viewer/SliceCursor.h"

#include <QObject>
#include <QString>

#include <array>
#include <memory>
#include <string>

namespace radmark::viewer {

class LabelEditor;
class SliceView;

class BoxInteraction : public QObject {
    Q_OBJECT
  public:
    // `views` in ViewPlane order; the editor, cursor and views must outlive this object.
    BoxInteraction(LabelEditor& editor, const SliceCursor& cursor,
                   const std::array<SliceView*, 3>& views, QObject* parent = nullptr);
    ~BoxInteraction() override;

    static bool isBoxTool(const QString& toolName); // a tool of kind annotation::ToolKind::Box

    // A pointer event of `view` (ignored unless a box tool is selected).
    void handlePointer(SliceView& view, annotation::PointerPhase phase,
                       const imaging::Index3& voxel);

    std::uint32_t selectedBox() const; // 0: none
    void selectBox(std::uint32_t id);
    // Deletes the selected box (one undo step); false with a status message when none is.
    bool removeSelectedBox();

    // Who draws the boxes (stored with each new box); empty outside a store session.
    void setAuthor(const std::string& author);
    // A 3D box drawn in one view spans the shown slice +- this many slices.
    void setHalfDepthSlices(int slices);
    int halfDepthSlices() const;

    // Redraws every view's boxes (after the shown slices changed).
    void refresh();
    const BoxOverlay& overlay(ViewPlane plane) const;

  signals:
    void selectionChanged(std::uint32_t id);
    void statusMessage(const QString& text);

  private:
    std::vector<annotation::Box> shownBoxes() const;
    double toleranceVoxels(const SliceView& view) const;
    void finishGesture(const annotation::BoxGestureResult& result);
    void onBoxesChanged();

    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
