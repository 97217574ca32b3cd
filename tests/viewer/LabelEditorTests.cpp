// The label editor's model-facing API without a display: tool selection, settings and Apply as
// the tools panel uses them, segments, read-only versions and boxes as the segments panel, the
// versions panel and the box tool use them.
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
    editor.editBoxes(
        [id](annotation::BoxList& boxes) {
            return boxes.move(id, {3, 0, 0});
        },
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

std::size_t voxelsInRange(const imaging::Volume& volume, double lower, double upper) {
    const auto dims = volume.geometry().dims;
    std::size_t count = 0;
    for (int z = 0; z < dims[2]; ++z)
        for (int y = 0; y < dims[1]; ++y)
            for (int x = 0; x < dims[0]; ++x) {
                const double v = volume.valueAt(x, y, z);
                count += v >= lower && v <= upper;
            }
    return count;
}

std::uint64_t labelled(const annotation::LabelMap& labels, annotation::Label label) {
    const auto counts = labels.voxelCounts();
    const auto found = counts.find(label);
    return found == counts.end() ? 0 : found->second;
}

TEST_F(LabelEditorTest, EveryListedToolIsSelectableAndSaysWhetherThePointerEdits) {
    QSignalSpy changed(&editor, &LabelEditor::toolChanged);
    const QStringList tools = LabelEditor::toolList();
    EXPECT_EQ(tools.size(), int(annotation::toolNames().size()) + 3) << "navigate, box, box3d";
    for (const QString& name : tools) {
        ASSERT_TRUE(editor.selectTool(name)) << name.toStdString();
        EXPECT_EQ(editor.toolName(), name);
        const bool modelTool = !name.isEmpty() && !name.startsWith(QLatin1String("box"));
        EXPECT_EQ(editor.tool() != nullptr, modelTool) << name.toStdString();
        if (modelTool) {
            EXPECT_EQ(editor.tool()->name(), name.toStdString());
        }
        EXPECT_EQ(editor.pointerEdits(), !name.isEmpty() && !LabelEditor::isWholeSegmentTool(name))
            << name.toStdString();
        EXPECT_FALSE(LabelEditor::toolTitle(name).isEmpty());
    }
    EXPECT_EQ(changed.count(), tools.size() - 1) << "navigation was already selected";
    EXPECT_FALSE(editor.selectTool(QStringLiteral("lasso")));
    EXPECT_TRUE(LabelEditor::isWholeSegmentTool(QStringLiteral("margin")));
    EXPECT_FALSE(LabelEditor::isWholeSegmentTool(QStringLiteral("region-grow")));
}

TEST_F(LabelEditorTest, BoxToolsPutTheViewsInEditingButTheEditorIgnoresThePointer) {
    ASSERT_TRUE(editor.selectTool(QStringLiteral("box")));
    EXPECT_TRUE(editor.pointerEdits());
    editor.handlePointer(annotation::PointerPhase::Press, {20, 20, 5}, 2);
    editor.handlePointer(annotation::PointerPhase::Release, {25, 25, 5}, 2);
    EXPECT_EQ(labelled(editor.labels(), 1), 0u);
    EXPECT_FALSE(editor.history().canUndo());
}

TEST_F(LabelEditorTest, BrushesShareRadiusAndShapeWithTheirSettings) {
    QSignalSpy settings(&editor, &LabelEditor::toolSettingChanged);
    editor.selectTool(QStringLiteral("paint"));
    editor.setBrushRadiusMm(3);
    EXPECT_DOUBLE_EQ(editor.tool()->settings().get("radius_mm"), 3);
    editor.setToolSetting(QStringLiteral("radius_mm"), 4);
    EXPECT_DOUBLE_EQ(editor.brushRadiusMm(), 4);
    editor.toggleSphereBrush();
    EXPECT_DOUBLE_EQ(editor.tool()->settings().get("sphere"), 1);
    editor.selectTool(QStringLiteral("threshold-paint"));
    EXPECT_DOUBLE_EQ(editor.tool()->settings().get("radius_mm"), 4);
    EXPECT_DOUBLE_EQ(editor.tool()->settings().get("sphere"), 1);
    ASSERT_GE(settings.count(), 3);
    EXPECT_EQ(settings.at(0).at(0).toString(), QStringLiteral("radius_mm"));

    // A sphere of 4 mm on 1 x 1 x 2 mm voxels reaches two slices up and down.
    editor.selectTool(QStringLiteral("paint"));
    editor.handlePointer(annotation::PointerPhase::Press, {20, 20, 5}, 2);
    editor.handlePointer(annotation::PointerPhase::Release, {20, 20, 5}, 2);
    for (int z = 3; z <= 7; ++z)
        EXPECT_EQ(editor.labels().at({20, 20, z}), 1) << "slice " << z;
    EXPECT_EQ(editor.labels().at({20, 20, 2}), 0);
}

TEST_F(LabelEditorTest, RegionGrowRegrowsWhenItsRangeChangesInsideOneUndoStep) {
    editor.setShownIntensityRange(900, 1100); // the window a tool with a range starts from
    ASSERT_TRUE(editor.selectTool(QStringLiteral("region-grow")));
    EXPECT_DOUBLE_EQ(editor.tool()->settings().get("lower"), 900);
    const imaging::Index3 seed{int(std::lround(ct.markerIndex[0])),
                               int(std::lround(ct.markerIndex[1])),
                               int(std::lround(ct.markerIndex[2]))};
    QSignalSpy labelsChanged(&editor, &LabelEditor::labelsChanged);
    editor.handlePointer(annotation::PointerPhase::Press, seed, 2);
    editor.handlePointer(annotation::PointerPhase::Release, seed, 2);
    const std::size_t marker = voxelsInRange(ct.volume, 900, 1100);
    ASSERT_GT(marker, 0u);
    EXPECT_EQ(labelled(editor.labels(), 1), marker);

    // The whole body and the marker inside it: one connected region.
    editor.setToolSetting(QStringLiteral("lower"), 0);
    EXPECT_EQ(labelled(editor.labels(), 1), voxelsInRange(ct.volume, 0, 1100));
    EXPECT_GE(labelsChanged.count(), 2) << "the overlay refreshes when the range regrows";
    editor.setToolSetting(QStringLiteral("lower"), 900);
    EXPECT_EQ(labelled(editor.labels(), 1), marker);

    ASSERT_TRUE(editor.undo());
    EXPECT_EQ(labelled(editor.labels(), 1), 0u) << "one undo step for the click and its retunes";
    EXPECT_FALSE(editor.history().canUndo());
    ASSERT_TRUE(editor.redo());
    EXPECT_EQ(labelled(editor.labels(), 1), marker);
}

TEST_F(LabelEditorTest, ApplyRunsAWholeSegmentToolAsOneUndoStepAndReportsIt) {
    paintAt({20, 20, 5});
    const annotation::LabelMap painted = editor.labels();
    const std::uint64_t before = labelled(painted, 1);
    QSignalSpy messages(&editor, &LabelEditor::statusMessage);
    ASSERT_TRUE(editor.selectTool(QStringLiteral("margin")));
    EXPECT_FALSE(editor.pointerEdits());
    editor.setToolSetting(QStringLiteral("distance_mm"), 2);
    ASSERT_TRUE(editor.applyTool());
    const std::uint64_t grown = labelled(editor.labels(), 1);
    EXPECT_GT(grown, before);
    EXPECT_TRUE(messages.last().at(0).toString().contains(QString::number(grown - before)))
        << messages.last().at(0).toString().toStdString();
    ASSERT_TRUE(editor.undo());
    EXPECT_TRUE(editor.labels() == painted);

    editor.editSegment(1, [](annotation::Segment& s) { s.locked = true; });
    EXPECT_FALSE(editor.applyTool());
    EXPECT_TRUE(editor.labels() == painted);
    EXPECT_TRUE(messages.last().at(0).toString().contains(QStringLiteral("locked")));

    EXPECT_FALSE(editor.applyTool(QStringLiteral("paint"))) << "a brush has nothing to apply";
}

} // namespace
