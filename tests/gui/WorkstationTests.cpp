// The workstation as a radiologist meets it, on the real head MRI from mricron-data
// (ch2.nii.gz), under Xvfb: open, screenshot, every view shows the head, a click in the axial
// view moves the other two, keys scroll, double-click maximises, bad input gives a clear error.
#include "WorkstationFixture.h"

#include "app/gui/MainWindow.h"
#include "app/gui/SeriesPickerDialog.h"
#include "viewer/FourUpViewer.h"

#include <QApplication>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QMimeData>
#include <QProcess>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include <filesystem>

using namespace radmark;
using radmark::testing::GuiTest;
using viewer::ViewPlane;

namespace {

using radmark::testing::headMri;

class Workstation : public radmark::testing::WorkstationWindow {
  protected:
    QRect rectInWindow(QWidget* view) const {
        const double ratio = window->devicePixelRatioF();
        const QPoint topLeft = view->mapTo(window.get(), QPoint(0, 0));
        return QRect(topLeft * ratio, view->size() * ratio);
    }
};

} // namespace

TEST_F(Workstation, ScreenshotShowsTheHeadInAllFourViews) {
    ASSERT_TRUE(open(headMri));
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("head.png"));
    QString error;
    ASSERT_TRUE(window->saveScreenshot(file, &error)) << error.toStdString();
    const QImage shot(file);
    ASSERT_FALSE(shot.isNull());
    QWidget* views[] = {viewer()->sliceView(ViewPlane::Axial),
                        viewer()->sliceView(ViewPlane::Coronal),
                        viewer()->sliceView(ViewPlane::Sagittal), viewer()->volumeView()};
    for (QWidget* view : views) {
        // The middle of the view, away from letters and corner text.
        const QRect r = rectInWindow(view);
        const QRect middle =
            r.adjusted(r.width() / 5, r.height() / 5, -r.width() / 5, -r.height() / 5);
        const auto stats = radmark::testing::pixelStatistics(shot, middle);
        SCOPED_TRACE(view->objectName().toStdString());
        EXPECT_GT(stats.brightFraction, 0.2);    // the head fills much of the middle
        EXPECT_GT(stats.luminanceStdDev, 15);    // with structure, not a flat fill
        EXPECT_GT(stats.distinctLuminances, 60); // and many grey levels (an image, not a shape)
    }
}

TEST_F(Workstation, ClickInAxialMovesCoronalAndSagittalViews) {
    ASSERT_TRUE(open(headMri));
    auto* axial = viewer()->sliceView(ViewPlane::Axial);
    auto* coronal = viewer()->sliceView(ViewPlane::Coronal);
    auto* sagittal = viewer()->sliceView(ViewPlane::Sagittal);
    viewer()->renderAll();
    const QImage coronalBefore = coronal->grabFramebuffer();
    const QImage sagittalBefore = sagittal->grabFramebuffer();
    const imaging::Vec3 before = viewer()->cursor().lps();
    const int axialSlice = viewer()->cursor().slice(ViewPlane::Axial);

    // Up and to the left of the centre: toward the patient's right and anterior.
    const QPoint at(axial->width() / 2 - axial->width() / 8,
                    axial->height() / 2 - axial->height() / 8);
    QTest::mouseClick(axial, Qt::LeftButton, {}, at);

    const imaging::Vec3 after = viewer()->cursor().lps();
    EXPECT_EQ(viewer()->cursor().slice(ViewPlane::Axial), axialSlice);
    EXPECT_LT(after[0], before[0] - 5); // sagittal plane moved toward R
    EXPECT_LT(after[1], before[1] - 5); // coronal plane moved toward A
    EXPECT_NEAR(after[2], before[2], 1e-6);
    viewer()->renderAll();
    EXPECT_NE(coronal->grabFramebuffer(), coronalBefore);
    EXPECT_NE(sagittal->grabFramebuffer(), sagittalBefore);
}

TEST_F(Workstation, KeysAndWheelScroll) {
    ASSERT_TRUE(open(headMri));
    auto* axial = viewer()->sliceView(ViewPlane::Axial);
    axial->setFocus();
    const int start = viewer()->cursor().slice(ViewPlane::Axial);
    const double startS = viewer()->cursor().lps()[2];
    QTest::keyClick(axial, Qt::Key_Up);
    EXPECT_GT(viewer()->cursor().lps()[2], startS);
    QTest::keyClick(axial, Qt::Key_PageUp);
    EXPECT_EQ(std::abs(viewer()->cursor().slice(ViewPlane::Axial) - start), 11);
    QTest::keyClick(axial, Qt::Key_PageDown);
    QTest::keyClick(axial, Qt::Key_Down);
    EXPECT_EQ(viewer()->cursor().slice(ViewPlane::Axial), start);
    EXPECT_TRUE(axial->sliceText().contains(QStringLiteral("/ 181")))
        << axial->sliceText().toStdString();
}

TEST_F(Workstation, DoubleClickMaximisesAView) {
    ASSERT_TRUE(open(headMri));
    auto* coronal = viewer()->sliceView(ViewPlane::Coronal);
    QTest::mouseDClick(coronal, Qt::LeftButton, {}, QPoint(40, 40));
    EXPECT_EQ(viewer()->maximisedView(), coronal);
    QApplication::processEvents();
    EXPECT_GT(coronal->width(), window->width() * 3 / 4);
    QTest::mouseDClick(coronal, Qt::LeftButton, {}, QPoint(40, 40));
    EXPECT_EQ(viewer()->maximisedView(), nullptr);
}

TEST_F(Workstation, StatusBarShowsPositionAndValue) {
    ASSERT_TRUE(open(headMri));
    auto* axial = viewer()->sliceView(ViewPlane::Axial);
    QTest::mouseMove(axial, QPoint(axial->width() / 2, axial->height() / 2));
    QTest::mouseClick(axial, Qt::LeftButton, {}, QPoint(axial->width() / 2, axial->height() / 2));
    auto* status = window->findChild<QLabel*>(QStringLiteral("statusText"));
    ASSERT_NE(status, nullptr);
    EXPECT_TRUE(status->text().contains(QStringLiteral("value"))) << status->text().toStdString();
    EXPECT_TRUE(status->text().contains(QStringLiteral("mm"))) << status->text().toStdString();
}

TEST_F(Workstation, NotAnImageGivesAClearErrorNamingTheFile) {
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("notes.txt"));
    QFile text(file);
    ASSERT_TRUE(text.open(QIODevice::WriteOnly));
    text.write("this is not an image\n");
    text.close();
    QSignalSpy failed(window.get(), &gui::MainWindow::loadFailed);
    window->openPath(file);
    ASSERT_TRUE(failed.wait(30000));
    const QString message = failed.front().front().toString();
    EXPECT_TRUE(message.contains(QStringLiteral("notes.txt"))) << message.toStdString();
    EXPECT_EQ(viewer()->volume(), nullptr);
}

TEST(WorkstationCommandLine, ScreenshotOptionWritesThePng) {
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("shot.png"));
    QProcess radmark;
    radmark.start(QStringLiteral(RADMARK_BINARY_DIR "/app/radmark"),
                  {QStringLiteral("--open"), headMri, QStringLiteral("--screenshot"), file});
    ASSERT_TRUE(radmark.waitForFinished(120000));
    const QString errors = QString::fromUtf8(radmark.readAllStandardError());
    EXPECT_EQ(radmark.exitCode(), 0) << errors.toStdString();
    EXPECT_TRUE(errors.trimmed().isEmpty()) << "Qt/VTK printed:\n" << errors.toStdString();
    const QImage shot(file);
    ASSERT_FALSE(shot.isNull());
    const auto stats = radmark::testing::pixelStatistics(shot, shot.rect());
    EXPECT_GT(stats.distinctLuminances, 60);
}

TEST(WorkstationCommandLine, ScreenshotOfMissingStudyFailsWithAClearLine) {
    QTemporaryDir dir;
    QProcess radmark;
    radmark.start(QStringLiteral(RADMARK_BINARY_DIR "/app/radmark"),
                  {QStringLiteral("--open"), dir.filePath(QStringLiteral("missing-study")),
                   QStringLiteral("--screenshot"), dir.filePath(QStringLiteral("shot.png"))});
    ASSERT_TRUE(radmark.waitForFinished(60000));
    EXPECT_NE(radmark.exitCode(), 0);
    const QString error = QString::fromUtf8(radmark.readAllStandardError());
    EXPECT_TRUE(error.contains(QStringLiteral("missing-study"))) << error.toStdString();
    EXPECT_FALSE(QFile::exists(dir.filePath(QStringLiteral("shot.png"))));
}

TEST_F(Workstation, ProgressBarFollowsTheLoad) {
    auto* bar = window->findChild<QProgressBar*>();
    ASSERT_NE(bar, nullptr);
    QSignalSpy values(bar, &QProgressBar::valueChanged);
    ASSERT_TRUE(open(headMri));
    ASSERT_FALSE(values.isEmpty());
    EXPECT_GE(values.back().front().toInt(), 90);
    EXPECT_FALSE(bar->isVisible()); // hidden again once the study shows
}

TEST_F(Workstation, DroppingAFileOpensIt) {
    QMimeData data;
    data.setUrls({QUrl::fromLocalFile(headMri)});
    const QPoint at(window->width() / 2, window->height() / 2);
    QDragEnterEvent enter(at, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.get(), &enter);
    EXPECT_TRUE(enter.isAccepted());
    QSignalSpy shown(window.get(), &gui::MainWindow::studyShown);
    QDropEvent drop(at, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(window.get(), &drop);
    ASSERT_TRUE(shown.wait(60000));
    ASSERT_NE(viewer()->volume(), nullptr);
    EXPECT_EQ(viewer()->volume()->geometry().dims, (imaging::Index3{181, 217, 181}));
}

TEST_F(Workstation, FolderWithSeveralSeriesOpensOneOfThem) {
    // Two single-slice series from pydicom's public test files.
    QTemporaryDir dir;
    ASSERT_TRUE(QFile::copy(QStringLiteral(RADMARK_PYDICOM_DATA "/CT_small.dcm"),
                            dir.filePath(QStringLiteral("a.dcm"))));
    ASSERT_TRUE(QFile::copy(QStringLiteral(RADMARK_PYDICOM_DATA "/MR_small.dcm"),
                            dir.filePath(QStringLiteral("b.dcm"))));
    ASSERT_TRUE(open(dir.path()));
    ASSERT_NE(viewer()->volume(), nullptr);
    EXPECT_EQ(viewer()->volume()->geometry().dims[2], 1);
}

TEST_F(GuiTest, SeriesPickerListsEverySeriesAndPreselectsTheLargest) {
    std::vector<imaging::SeriesSummary> series(3);
    series[0].modality = "CT", series[0].description = "scout", series[0].imageCount = 3,
    series[0].format = "DICOM";
    series[1].modality = "CT", series[1].description = "abdomen", series[1].imageCount = 240,
    series[1].format = "DICOM";
    series[2].modality = "SR", series[2].description = "dose report", series[2].imageCount = 1,
    series[2].format = "DICOM";
    gui::SeriesPickerDialog picker(series);
    auto* table = picker.findChild<QTableWidget*>();
    ASSERT_NE(table, nullptr);
    EXPECT_EQ(table->rowCount(), 3);
    EXPECT_EQ(table->item(1, 1)->text(), QStringLiteral("abdomen"));
    EXPECT_EQ(table->item(1, 2)->text(), QStringLiteral("240"));
    EXPECT_EQ(picker.chosenIndex(), 1);
    table->selectRow(2);
    ASSERT_NE(picker.chosen(), nullptr);
    EXPECT_EQ(picker.chosen()->description, "dose report");
}

TEST_F(Workstation, ShortcutsApplyPresetsAndMaximise) {
    ASSERT_TRUE(open(headMri));
    // Window shortcuts need the active window (Xvfb has no window manager to activate it).
    window->activateWindow();
    QApplication::setActiveWindow(window.get());
    ASSERT_TRUE(QTest::qWaitForWindowActive(window.get()));
    auto* axial = viewer()->sliceView(ViewPlane::Axial);
    axial->setFocus();
    QTest::keyClick(axial, Qt::Key_2); // CT lung
    EXPECT_DOUBLE_EQ(viewer()->windowLevel().window, 1500);
    EXPECT_DOUBLE_EQ(viewer()->windowLevel().level, -600);
    EXPECT_DOUBLE_EQ(viewer()->sliceView(ViewPlane::Sagittal)->windowLevel().level, -600);
    QTest::keyClick(axial, Qt::Key_0); // back to the MR default
    EXPECT_LT(viewer()->windowLevel().window, 1500);
    QTest::keyClick(axial, Qt::Key_4, Qt::ControlModifier); // maximise 3D
    EXPECT_EQ(viewer()->maximisedView(), viewer()->volumeView());
    QTest::keyClick(window.get(), Qt::Key_4, Qt::ControlModifier);
    EXPECT_EQ(viewer()->maximisedView(), nullptr);
    QTest::keyClick(window.get(), Qt::Key_F6); // CT soft tissue
    EXPECT_EQ(viewer()->volumeView()->presetName(), "CT soft tissue");
}
