#pragma once
// A real main window under Xvfb, shown and exposed, that opens studies the way a user does
// (MainWindow::openPath) and waits for them to show. Qt and VTK warnings fail the test.

#include "GuiTestSupport.h"

#include "app/gui/MainWindow.h"
#include "viewer/FourUpViewer.h"
#include "viewer/LabelEditor.h"

#include <QApplication>
#include <QSignalSpy>
#include <QTest>

#include <memory>
#include <vector>

namespace radmark::testing {

inline const QString headMri = QStringLiteral(RADMARK_MRICRON_TEMPLATES "/ch2.nii.gz");

class WorkstationWindow : public GuiTest {
  protected:
    void SetUp() override {
        GuiTest::SetUp();
        window = std::make_unique<gui::MainWindow>();
        window->setInteractive(false);
        window->resize(1280, 960);
        window->show();
        ASSERT_TRUE(QTest::qWaitForWindowExposed(window.get()));
    }
    void TearDown() override {
        window.reset();
        GuiTest::TearDown();
    }
    // Opens and waits until the study shows; false (with the error) when it failed.
    ::testing::AssertionResult open(const QString& path) {
        QSignalSpy shown(window.get(), &gui::MainWindow::studyShown);
        QSignalSpy failed(window.get(), &gui::MainWindow::loadFailed);
        window->openPath(path);
        for (int i = 0; i < 600 && shown.isEmpty() && failed.isEmpty(); ++i)
            QTest::qWait(100);
        if (!failed.isEmpty())
            return ::testing::AssertionFailure() << failed.front().front().toString().toStdString();
        if (shown.isEmpty())
            return ::testing::AssertionFailure() << "timed out";
        QApplication::processEvents();
        return ::testing::AssertionSuccess();
    }
    viewer::FourUpViewer* viewer() const { return window->viewer(); }
    viewer::LabelEditor& editor() const { return *window->viewer()->labelEditor(); }
    std::unique_ptr<gui::MainWindow> window;
};

// The head MRI open in a focused main window, ready for keys and mouse strokes.
class HeadMriWindow : public WorkstationWindow {
  protected:
    void SetUp() override {
        WorkstationWindow::SetUp();
        window->activateWindow();
        ASSERT_TRUE(QTest::qWaitForWindowActive(window.get()));
        ASSERT_TRUE(open(headMri));
    }
    // Every voxel with a label, in x-fastest order.
    std::vector<imaging::Index3> labelledVoxels() const {
        const annotation::LabelMap& labels = editor().labels();
        const auto dims = labels.geometry().dims;
        std::vector<imaging::Index3> found;
        for (int z = 0; z < dims[2]; ++z)
            for (int y = 0; y < dims[1]; ++y)
                for (int x = 0; x < dims[0]; ++x)
                    if (labels.at(labels.index(x, y, z)) != 0)
                        found.push_back({x, y, z});
        return found;
    }
};

} // namespace radmark::testing
