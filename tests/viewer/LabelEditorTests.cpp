// The label editor's model-facing API without a display: segments, read-only versions and boxes
// as the segments panel, the versions panel and the box tool use them.
#include "SyntheticVolumes.h"

#include "viewer/LabelEditor.h"

#include <QSignalSpy>

#include <vtkLookupTable.h>

#include <gtest/gtest.h>

using namespace radmark;
using radmark::viewer::EditMode;
using radmark::viewer::LabelEditor;

namespace {

class LabelEditorTest : public ::testing::Test {
  protected:
    void SetUp() override { editor.startAnnotation(&ct.volume); }

    void paintAt(const imaging::Index3& voxel) {
        editor.setMode(EditMode::Paint);
        editor.handlePointer(annotation::PointerPhase::Press, voxel, 2);
        editor.handlePointer(annotation::PointerPhase::Release, voxel, 2);
        editor.setMode(EditMode::Navigate);
    }

    radmark::testing::SyntheticCt ct = radmark::testing::makeSyntheticCt({40, 40, 10}, {1, 1, 2});
    LabelEditor editor;
};

TEST_F(LabelEditorTest, AddedSegmentGetsTheNextLabelAndBecomesActive) {
    QSignalSpy changed(&editor, &LabelEditor::segmentsChanged);
    annotation::Segment liver;
    liver.name = "Liver";
    liver.colour = {200, 120, 40};
    const annotation::Label label = editor.addSegment(liver);
    EXPECT_EQ(label, 2);
    EXPECT_EQ(editor.activeSegment(), 2);
    EXPECT_EQ(editor.segments().get(2).name, "Liver");
    EXPECT_EQ(changed.count(), 1);

    paintAt({20, 20, 5});
    EXPECT_EQ(editor.labels().at({20, 20, 5}), 2) << "painting uses the new active segment";
}

TEST_F(LabelEditorTest, HiddenSegmentIsTransparentInTheOverlayColours) {
    double rgba[4];
    editor.overlayColours()->GetTableValue(1, rgba);
    EXPECT_GT(rgba[3], 0);
    editor.editSegment(1, [](annotation::Segment& s) { s.visible = false; });
    editor.overlayColours()->GetTableValue(1, rgba);
    EXPECT_EQ(rgba[3], 0);
}

TEST_F(LabelEditorTest, LockedSegmentRefusesPaintWithAMessage) {
    editor.editSegment(1, [](annotation::Segment& s) { s.locked = true; });
    QSignalSpy messages(&editor, &LabelEditor::statusMessage);
    paintAt({20, 20, 5});
    EXPECT_EQ(editor.labels().at({20, 20, 5}), 0);
    EXPECT_GE(messages.count(), 1);
}

TEST_F(LabelEditorTest, RemovingASegmentClearsItsVoxelsAndBoxesButKeepsTheLastOne) {
    annotation::Segment second;
    second.name = "Lesion";
    editor.addSegment(second);
    paintAt({10, 10, 3});
    editor.editBoxes(
        [](annotation::BoxList& boxes) {
            return boxes.add2D(2, "reader", annotation::SliceAxis::Axial, {5, 5, 3}, {12, 12, 3});
        },
        "Draw box");
    ASSERT_EQ(editor.boxes().all().size(), 1u);
    ASSERT_EQ(editor.labels().at({10, 10, 3}), 2);

    editor.removeSegment(2);
    EXPECT_EQ(editor.segments().find(2), nullptr);
    EXPECT_EQ(editor.labels().at({10, 10, 3}), 0);
    EXPECT_TRUE(editor.boxes().all().empty());
    EXPECT_EQ(editor.activeSegment(), 1);
    EXPECT_FALSE(editor.history().canUndo()) << "history cleared: it referred to the segment";

    editor.removeSegment(1);
    EXPECT_NE(editor.segments().find(1), nullptr) << "the last segment stays";
}

TEST_F(LabelEditorTest, BoxEditsAreUndoneAndRedone) {
    QSignalSpy boxesChanged(&editor, &LabelEditor::boxesChanged);
    editor.editBoxes(
        [](annotation::BoxList& boxes) {
            return boxes.add3D(1, "reader", {2, 2, 1}, {8, 9, 4});
        },
        "Draw box");
    ASSERT_EQ(editor.boxes().all().size(), 1u);
    const std::uint32_t id = editor.boxes().all().front().id;
    editor.editBoxes([id](annotation::BoxList& boxes) { return boxes.move(id, {3, 0, 0}); },
                     "Move box");
    EXPECT_EQ(editor.boxes().all().front().min[0], 5);

    ASSERT_TRUE(editor.undo());
    EXPECT_EQ(editor.boxes().all().front().min[0], 2);
    ASSERT_TRUE(editor.undo());
    EXPECT_TRUE(editor.boxes().all().empty());
    ASSERT_TRUE(editor.redo());
    ASSERT_TRUE(editor.redo());
    EXPECT_EQ(editor.boxes().all().front().min[0], 5);
    EXPECT_GE(boxesChanged.count(), 6);
}

TEST_F(LabelEditorTest, ReadOnlyAnnotationRefusesEveryEdit) {
    paintAt({20, 20, 5});
    editor.setReadOnly(true);
    EXPECT_TRUE(editor.readOnly());
    const annotation::LabelMap before = editor.labels();

    paintAt({25, 25, 5});
    editor.editBoxes(
        [](annotation::BoxList& boxes) {
            return boxes.add3D(1, "reader", {2, 2, 1}, {8, 9, 4});
        },
        "Draw box");
    EXPECT_FALSE(editor.undo());
    editor.removeSegment(1);

    EXPECT_TRUE(editor.labels() == before);
    EXPECT_TRUE(editor.boxes().all().empty());
    editor.setReadOnly(false);
    EXPECT_TRUE(editor.undo()) << "the paint before going read-only is still undoable";
}

} // namespace
