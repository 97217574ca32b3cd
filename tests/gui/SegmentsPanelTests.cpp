// The Segments panel used as a radiologist does, on the head MRI (ch2.nii.gz) under Xvfb: N and
// typing "liv" adds Liver with its SNOMED CT code, a double-click renames, the checkboxes hide
// the overlay and lock the segment against a real brush stroke, the slider sets the opacity, a
// click on a row picks the segment the brush paints with, Remove asks first; in the 3D view the
// painted segment shows as a surface in its colour and hiding it takes the surface away.
#include "WorkstationFixture.h"

#include "app/gui/annotation/SegmentsPanel.h"
#include "app/gui/annotation/TerminologyDialog.h"
#include "viewer/FourUpViewer.h"
#include "viewer/LabelEditor.h"

#include <QAbstractButton>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QColorDialog>
#include <QComboBox>
#include <QElapsedTimer>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QSignalSpy>
#include <QSlider>
#include <QTableWidget>
#include <QTest>
#include <QTimer>
#include <QToolButton>

#include <vtkPolyData.h>

#include <cmath>
#include <functional>

using namespace radmark;
using gui::SegmentsPanel;
using viewer::ViewPlane;

namespace {

using radmark::testing::headMri;

// Runs `act` on the modal dialog of type T as soon as one is open (the code under test opens it
// with exec(), which blocks until `act` closes it).
template <typename T>
void whenModalOpens(std::function<void(T*)> act) {
    auto* poll = new QTimer;
    auto* waited = new QElapsedTimer;
    waited->start();
    QObject::connect(poll, &QTimer::timeout, [poll, waited, act] {
        if (auto* dialog = qobject_cast<T*>(QApplication::activeModalWidget())) {
            poll->stop();
            act(dialog);
        }
        if (!poll->isActive() || waited->elapsed() > 10000) {
            poll->deleteLater();
            delete waited;
        }
    });
    poll->start(50);
}

bool waitUntil(const std::function<bool()>& done, int milliseconds = 10000) {
    QElapsedTimer clock;
    clock.start();
    while (!done()) {
        if (clock.elapsed() > milliseconds)
            return false;
        QTest::qWait(50);
    }
    return true;
}

int differingPixels(const QImage& a, const QImage& b) {
    int count = 0;
    for (int y = 0; y < a.height(); ++y)
        for (int x = 0; x < a.width(); ++x)
            count += a.pixel(x, y) != b.pixel(x, y);
    return count;
}

// Pixels clearly redder than green and blue: the default segment's red (or the liver's).
int reddishPixels(const QImage& image) {
    int count = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x) {
            const QRgb p = image.pixel(x, y);
            count += qRed(p) > qGreen(p) + 40 && qRed(p) > qBlue(p) + 40;
        }
    return count;
}

// Sum of (red - green) over pixels that differ from `base`: how strongly a red overlay shows.
double rednessOver(const QImage& base, const QImage& image) {
    double sum = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            if (base.pixel(x, y) != image.pixel(x, y))
                sum += qRed(image.pixel(x, y)) - qGreen(image.pixel(x, y));
    return sum;
}

class SegmentsPanelTest : public radmark::testing::HeadMriWindow {
  protected:
    void SetUp() override {
        HeadMriWindow::SetUp();
        if (HasFatalFailure())
            return;
        panel = window->findChild<SegmentsPanel*>();
        ASSERT_NE(panel, nullptr);
        ASSERT_TRUE(panel->isVisible());
        axial = viewer()->sliceView(ViewPlane::Axial);
    }
    QTableWidget* table() const { return panel->table(); }

    // N, then the terminology picker: types `search` and presses Enter.
    void addSegmentByTyping(const QString& search, QString* firstMatch = nullptr) {
        whenModalOpens<gui::TerminologyDialog>([search, firstMatch](gui::TerminologyDialog* picker) {
            QTest::keyClicks(picker->searchBox(), search);
            if (firstMatch && picker->matches()->count() > 0)
                *firstMatch = picker->matches()->item(0)->text();
            QTest::keyClick(picker->searchBox(), Qt::Key_Return);
        });
        QTest::keyClick(axial, Qt::Key_N);
        // The dialog gave the focus back: shortcuts need the main window active again.
        window->activateWindow();
        EXPECT_TRUE(QTest::qWaitForWindowActive(window.get()));
    }
    // A real brush drag across the shown axial slice, `offset` voxels below the centre.
    void brushStroke(int offset = 0) {
        const imaging::Vec3 centre = viewer()->cursor().index();
        const QPoint start =
            axial->widgetPositionOf({centre[0] - 20, centre[1] + offset, centre[2]}).toPoint();
        const QPoint end =
            axial->widgetPositionOf({centre[0] + 20, centre[1] + offset, centre[2]}).toPoint();
        QTest::keyClick(axial, Qt::Key_B);
        QTest::mousePress(axial, Qt::LeftButton, Qt::NoModifier, start);
        for (int step = 1; step <= 10; ++step)
            QTest::mouseMove(axial, start + (end - start) * step / 10);
        QTest::mouseRelease(axial, Qt::LeftButton, Qt::NoModifier, end);
        QTest::keyClick(axial, Qt::Key_Escape); // navigation: no brush outline in the view
        QApplication::processEvents();
    }
    annotation::Label labelAtCentre(int offset = 0) const {
        const imaging::Vec3 c = viewer()->cursor().index();
        return editor().labels().at(imaging::Index3{int(std::lround(c[0])),
                                                    int(std::lround(c[1])) + offset,
                                                    int(std::lround(c[2]))});
    }
    std::uint64_t voxelsOf(annotation::Label label) const {
        const auto counts = editor().labels().voxelCounts();
        const auto found = counts.find(label);
        return found == counts.end() ? 0 : found->second;
    }
    QCheckBox* checkBox(int row, int column) const {
        return table()->cellWidget(row, column)->findChild<QCheckBox*>();
    }
    void clickRow(int row) const {
        const QRect cell = table()->visualItemRect(table()->item(row, SegmentsPanel::NameColumn));
        QTest::mouseClick(table()->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
        QApplication::processEvents();
    }
    QToolButton* button(const QString& text) const {
        for (auto* b : panel->findChildren<QToolButton*>())
            if (b->defaultAction() && b->defaultAction()->text().remove('&').startsWith(text))
                return b;
        return nullptr;
    }

    SegmentsPanel* panel = nullptr;
    viewer::SliceView* axial = nullptr;
};

TEST_F(SegmentsPanelTest, NewSegmentFromTerminologyByTypingThenRenameByDoubleClick) {
    ASSERT_EQ(table()->rowCount(), 1);
    EXPECT_EQ(table()->item(0, SegmentsPanel::NameColumn)->text(), QStringLiteral("Segment 1"));

    QString firstMatch;
    addSegmentByTyping(QStringLiteral("liv"), &firstMatch);
    EXPECT_TRUE(firstMatch.startsWith(QStringLiteral("Liver"))) << firstMatch.toStdString();
    ASSERT_EQ(editor().segments().size(), 2u);
    const annotation::Segment& liver = editor().segments().all().back();
    EXPECT_EQ(liver.name, "Liver");
    ASSERT_TRUE(liver.type.has_value());
    EXPECT_EQ(liver.type->code, "10200004");
    EXPECT_EQ(liver.category->code, "91723000");
    EXPECT_EQ(editor().activeSegment(), liver.label) << "a new segment is the one painted with";
    EXPECT_NE(liver.colour, editor().segments().all().front().colour);

    ASSERT_EQ(table()->rowCount(), 2);
    QTableWidgetItem* name = table()->item(1, SegmentsPanel::NameColumn);
    EXPECT_EQ(name->text(), QStringLiteral("Liver"));
    EXPECT_TRUE(name->toolTip().contains(QStringLiteral("SNOMED CT 10200004")))
        << name->toolTip().toStdString();
    EXPECT_TRUE(name->isSelected()) << "the active segment is highlighted";
    EXPECT_TRUE(panel->findChild<QLabel*>(QStringLiteral("segmentCode"))
                    ->text()
                    .contains(QStringLiteral("10200004")));

    // Rename: double-click the name (press, release, double-click, release), type, Enter.
    const QPoint cell = table()->visualItemRect(name).center();
    QTest::mouseClick(table()->viewport(), Qt::LeftButton, Qt::NoModifier, cell);
    QTest::mouseDClick(table()->viewport(), Qt::LeftButton, Qt::NoModifier, cell);
    QTest::mouseRelease(table()->viewport(), Qt::LeftButton, Qt::NoModifier, cell);
    auto* nameEditor = qobject_cast<QLineEdit*>(QApplication::focusWidget());
    ASSERT_NE(nameEditor, nullptr) << "double-click did not open the name for editing";
    nameEditor->selectAll();
    QTest::keyClicks(nameEditor, QStringLiteral("Left liver lobe"));
    QTest::keyClick(nameEditor, Qt::Key_Return);
    QApplication::processEvents();
    EXPECT_EQ(editor().segments().get(liver.label).name, "Left liver lobe");
    EXPECT_EQ(table()->item(1, SegmentsPanel::NameColumn)->text(), QStringLiteral("Left liver lobe"));
    EXPECT_EQ(editor().segments().get(liver.label).type->code, "10200004") << "the code stays";

    // Cancelling the picker adds nothing.
    whenModalOpens<gui::TerminologyDialog>([](gui::TerminologyDialog* picker) { picker->reject(); });
    QTest::keyClick(axial, Qt::Key_N);
    EXPECT_EQ(editor().segments().size(), 2u);
}

TEST_F(SegmentsPanelTest, VisibleCheckboxHidesTheOverlayAndHShowsItAgain) {
    viewer()->renderAll();
    const QImage before = axial->grabFramebuffer();
    brushStroke();
    ASSERT_GT(voxelsOf(1), 0u);
    const QImage painted = axial->grabFramebuffer();
    ASSERT_GT(differingPixels(before, painted), 500) << "the stroke does not show";
    // The volume column follows the edit.
    ASSERT_TRUE(waitUntil([&] {
        return table()->item(0, SegmentsPanel::VolumeColumn)->text() != QStringLiteral("0.00 mL");
    }));

    QCheckBox* visible = checkBox(0, SegmentsPanel::VisibleColumn);
    ASSERT_TRUE(visible->isChecked());
    QTest::mouseClick(visible, Qt::LeftButton);
    EXPECT_FALSE(editor().segments().get(1).visible);
    EXPECT_FALSE(visible->isChecked());
    EXPECT_EQ(differingPixels(before, axial->grabFramebuffer()), 0)
        << "the hidden segment still shows in the axial view";
    EXPECT_GT(voxelsOf(1), 0u) << "hiding keeps the voxels";

    QTest::keyClick(axial, Qt::Key_H);
    EXPECT_TRUE(editor().segments().get(1).visible);
    EXPECT_TRUE(visible->isChecked());
    EXPECT_EQ(differingPixels(painted, axial->grabFramebuffer()), 0);
}

TEST_F(SegmentsPanelTest, LockedSegmentIsNotChangedByABrushStroke) {
    QTest::keyClick(axial, Qt::Key_L, Qt::ControlModifier | Qt::ShiftModifier);
    ASSERT_TRUE(editor().segments().get(1).locked);
    EXPECT_TRUE(checkBox(0, SegmentsPanel::LockedColumn)->isChecked());
    const annotation::LabelMap before = editor().labels();
    brushStroke();
    EXPECT_TRUE(editor().labels() == before) << "a locked segment was painted";
    EXPECT_EQ(voxelsOf(1), 0u);

    QTest::mouseClick(checkBox(0, SegmentsPanel::LockedColumn), Qt::LeftButton);
    EXPECT_FALSE(editor().segments().get(1).locked);
    brushStroke();
    EXPECT_GT(voxelsOf(1), 0u) << "unlocked, the brush paints again";
}

TEST_F(SegmentsPanelTest, OpacitySliderChangesHowStronglyTheOverlayShows) {
    viewer()->renderAll();
    const QImage before = axial->grabFramebuffer();
    brushStroke();
    const QImage half = axial->grabFramebuffer();
    auto* slider = panel->findChild<QSlider*>(QStringLiteral("segmentOpacity"));
    ASSERT_NE(slider, nullptr);
    EXPECT_EQ(slider->value(), 50);

    slider->setFocus();
    QTest::keyClick(slider, Qt::Key_End);
    EXPECT_FLOAT_EQ(editor().segments().get(1).opacity, 1.0f);
    const QImage opaque = axial->grabFramebuffer();
    EXPECT_GT(rednessOver(before, opaque), 1.3 * rednessOver(before, half))
        << "full opacity does not show the segment more strongly";

    QTest::keyClick(slider, Qt::Key_Home);
    EXPECT_FLOAT_EQ(editor().segments().get(1).opacity, 0.0f);
    EXPECT_EQ(differingPixels(before, axial->grabFramebuffer()), 0);
}

TEST_F(SegmentsPanelTest, ColourDialogAndOutlineDisplay) {
    // Double-click the swatch: the colour dialog; pick blue.
    const QPoint swatch =
        table()->visualItemRect(table()->item(0, SegmentsPanel::ColourColumn)).center();
    whenModalOpens<QColorDialog>([](QColorDialog* dialog) {
        dialog->setCurrentColor(QColor(20, 40, 250));
        dialog->accept();
    });
    QTest::mouseClick(table()->viewport(), Qt::LeftButton, Qt::NoModifier, swatch);
    QTest::mouseDClick(table()->viewport(), Qt::LeftButton, Qt::NoModifier, swatch);
    QTest::mouseRelease(table()->viewport(), Qt::LeftButton, Qt::NoModifier, swatch);
    EXPECT_EQ(editor().segments().get(1).colour, (annotation::Rgb{20, 40, 250}));
    const QImage icon =
        table()->item(0, SegmentsPanel::ColourColumn)->icon().pixmap(16, 16).toImage();
    EXPECT_EQ(QColor(icon.pixel(8, 8)), QColor(20, 40, 250)) << "the swatch shows the new colour";

    auto* display = panel->findChild<QComboBox*>(QStringLiteral("segmentDisplay"));
    ASSERT_NE(display, nullptr);
    display->setFocus();
    QTest::keyClick(display, Qt::Key_Down);
    EXPECT_EQ(editor().segments().get(1).display, annotation::SegmentDisplay::Outline);
}

TEST_F(SegmentsPanelTest, ClickingARowChoosesTheSegmentTheBrushPaints) {
    addSegmentByTyping(QStringLiteral("mass"));
    ASSERT_EQ(editor().segments().size(), 2u);
    const annotation::Label mass = editor().segments().all().back().label;
    ASSERT_EQ(editor().activeSegment(), mass);

    clickRow(0);
    EXPECT_EQ(editor().activeSegment(), 1);
    EXPECT_TRUE(table()->item(0, SegmentsPanel::NameColumn)->font().bold());
    brushStroke(-15);
    EXPECT_EQ(labelAtCentre(-15), 1);

    clickRow(1);
    EXPECT_EQ(editor().activeSegment(), mass);
    brushStroke(+15);
    EXPECT_EQ(labelAtCentre(+15), mass);
    EXPECT_EQ(labelAtCentre(-15), 1) << "the first stroke kept its label";
    EXPECT_GT(voxelsOf(1), 0u);
    EXPECT_GT(voxelsOf(mass), 0u);

    // Ctrl+Up / Ctrl+Down walk the list.
    QTest::keyClick(axial, Qt::Key_Up, Qt::ControlModifier);
    EXPECT_EQ(editor().activeSegment(), 1);
    QTest::keyClick(axial, Qt::Key_Down, Qt::ControlModifier);
    EXPECT_EQ(editor().activeSegment(), mass);
}

TEST_F(SegmentsPanelTest, RemoveAsksFirstAndExplainsTheUndoHistoryIsCleared) {
    addSegmentByTyping(QStringLiteral("spleen"));
    ASSERT_EQ(editor().segments().size(), 2u);
    const annotation::Label spleen = editor().activeSegment();
    brushStroke();
    ASSERT_GT(voxelsOf(spleen), 0u);
    QToolButton* remove = button(QStringLiteral("Remove"));
    ASSERT_NE(remove, nullptr);

    whenModalOpens<QMessageBox>([](QMessageBox* confirm) {
        QTest::mouseClick(confirm->button(QMessageBox::Cancel), Qt::LeftButton);
    });
    QTest::mouseClick(remove, Qt::LeftButton);
    EXPECT_EQ(editor().segments().size(), 2u) << "Cancel removed the segment";
    EXPECT_GT(voxelsOf(spleen), 0u);

    QString explanation;
    whenModalOpens<QMessageBox>([&explanation](QMessageBox* confirm) {
        explanation = confirm->text() + ' ' + confirm->informativeText();
        QTest::mouseClick(confirm->button(QMessageBox::Yes), Qt::LeftButton);
    });
    QTest::mouseClick(remove, Qt::LeftButton);
    EXPECT_TRUE(explanation.contains(QStringLiteral("Spleen")));
    EXPECT_TRUE(explanation.contains(QStringLiteral("undo history is cleared")))
        << explanation.toStdString();
    EXPECT_EQ(editor().segments().size(), 1u);
    EXPECT_EQ(editor().segments().find(spleen), nullptr);
    EXPECT_EQ(voxelsOf(spleen), 0u);
    EXPECT_EQ(editor().history().size(), 0u);
    EXPECT_EQ(table()->rowCount(), 1);
}

TEST_F(SegmentsPanelTest, ReadOnlyVersionDisablesEditingButNotHiding) {
    annotation::OpenedAnnotation opened{editor().labels(), editor().segments(), editor().boxes(),
                                        std::nullopt};
    opened.labels.setReadOnly(true);
    ASSERT_TRUE(editor().continueFrom(opened));
    ASSERT_TRUE(editor().readOnly());
    EXPECT_FALSE(button(QStringLiteral("New"))->isEnabled());
    EXPECT_FALSE(checkBox(0, SegmentsPanel::LockedColumn)->isEnabled());
    EXPECT_FALSE(panel->findChild<QSlider*>(QStringLiteral("segmentOpacity"))->isEnabled());
    EXPECT_FALSE(table()->item(0, SegmentsPanel::NameColumn)->flags() & Qt::ItemIsEditable);

    QTest::keyClick(axial, Qt::Key_N); // no picker opens: nothing to wait for
    EXPECT_EQ(editor().segments().size(), 1u);

    QTest::mouseClick(checkBox(0, SegmentsPanel::VisibleColumn), Qt::LeftButton);
    EXPECT_FALSE(editor().segments().get(1).visible) << "hiding is a viewing choice";
}

TEST_F(SegmentsPanelTest, PaintedSegmentShowsAsSurfaceIn3DAndHidingRemovesIt) {
    viewer::VolumeView* view3d = viewer()->volumeView();
    viewer::SliceView* coronal = viewer()->sliceView(ViewPlane::Coronal);
    // Surfaces alone (Shift+3), so the head's volume rendering does not cover the blob.
    QTest::keyClick(axial, Qt::Key_3, Qt::ShiftModifier);
    ASSERT_FALSE(view3d->volumeRenderingShown());
    viewer()->renderAll();
    EXPECT_LT(reddishPixels(view3d->grabFramebuffer()), 20) << "red before anything is painted";

    // A blob: brush strokes in the coronal view (facing the 3D view's anterior camera) on
    // several coronal slices.
    QSignalSpy updates(view3d, &viewer::VolumeView::surfacesUpdated);
    QTest::keyClick(coronal, Qt::Key_B);
    editor().setBrushRadiusMm(8);
    const int strokes = 6;
    for (int slice = 0; slice < strokes; ++slice) {
        const imaging::Vec3 c = viewer()->cursor().index();
        const QPoint start = coronal->widgetPositionOf({c[0] - 25, c[1], c[2]}).toPoint();
        const QPoint end = coronal->widgetPositionOf({c[0] + 25, c[1], c[2] + 10}).toPoint();
        QTest::mousePress(coronal, Qt::LeftButton, Qt::NoModifier, start);
        for (int step = 1; step <= 10; ++step)
            QTest::mouseMove(coronal, start + (end - start) * step / 10);
        QTest::mouseRelease(coronal, Qt::LeftButton, Qt::NoModifier, end);
        if (slice == 0) { // the 3D view waits for a pause in the editing
            EXPECT_TRUE(view3d->surfaceUpdatePending());
            EXPECT_EQ(updates.count(), 0) << "surfaces re-meshed during a stroke";
        }
        QTest::keyClick(coronal, Qt::Key_Up);
    }
    ASSERT_TRUE(waitUntil([&] { return view3d->shownSurface(1) != nullptr; }));
    EXPECT_LE(updates.count(), strokes) << "surfaces re-meshed per brush stamp";
    EXPECT_GT(view3d->shownSurface(1)->GetNumberOfPolys(), 100);

    view3d->renderNow();
    const int shown = reddishPixels(view3d->grabFramebuffer());
    EXPECT_GT(shown, 300) << "the 3D view does not show the segment's colour";

    QTest::keyClick(axial, Qt::Key_H);
    EXPECT_EQ(view3d->shownSurface(1), nullptr);
    view3d->renderNow();
    EXPECT_LT(reddishPixels(view3d->grabFramebuffer()), 20) << "the hidden segment still shows";

    QTest::keyClick(axial, Qt::Key_H);
    view3d->renderNow();
    EXPECT_GT(reddishPixels(view3d->grabFramebuffer()), shown * 9 / 10);

    // Back to the volume rendering with the surfaces.
    QTest::keyClick(axial, Qt::Key_3, Qt::ShiftModifier);
    EXPECT_TRUE(view3d->volumeRenderingShown());
}

} // namespace
