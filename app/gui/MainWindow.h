#pragma once
// The workstation's main window: the four-up viewer, menus and shortcuts, opening studies
// (menu, command line, drag-and-drop) with a progress bar, a series picker and clear errors.

#include "imaging/StudyReader.h"

#include <QMainWindow>

#include <memory>

class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;

namespace radmark::viewer {
class FourUpViewer;
}

namespace radmark::gui {

class StudyLoader;

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Interactive: errors in dialogs, a picker for several series. Otherwise (screenshots,
    // tests) errors only go to loadFailed and the largest series is opened.
    void setInteractive(bool interactive);

    void openPath(const QString& path);
    // A study decoded elsewhere (the encrypted store), shown like one read from disk.
    void showStoredVolume(std::shared_ptr<imaging::Volume> volume);
    void closeStudy();
    bool loading() const;
    viewer::FourUpViewer* viewer() const;
    // A panel docked beside the views (segments, tools, versions), listed in the View menu.
    QDockWidget* addPanel(QWidget* panel, const QString& title);

    // Renders every view and writes the whole window as PNG; false with *error on failure.
    bool saveScreenshot(const QString& file, QString* error = nullptr);

  signals:
    void studyShown();
    void loadFailed(const QString& message);

  protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

  private:
    void buildMenus();
    void openFileDialog();
    void openFolderDialog();
    void screenshotDialog();
    void showVolume(std::shared_ptr<imaging::Volume> volume, const imaging::ReadReport& report);
    void chooseSeries(std::vector<imaging::SeriesSummary> series);
    void reportFailure(const QString& message);

    viewer::FourUpViewer* viewer_ = nullptr;
    StudyLoader* loader_ = nullptr;
    QLabel* status_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QMenu* panelsMenu_ = nullptr;
    bool interactive_ = true;
};

} // namespace radmark::gui
