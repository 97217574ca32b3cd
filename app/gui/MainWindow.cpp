#include "app/gui/MainWindow.h"

#include "app/gui/SeriesPickerDialog.h"
#include "app/gui/StudyLoader.h"
#include "app/gui/annotation/SegmentsPanel.h"
#include "app/gui/annotation/ToolsPanel.h"

#include "viewer/FourUpViewer.h"
#include "viewer/LabelEditor.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QImage>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPixmap>
#include <QProgressBar>
#include <QStatusBar>

namespace radmark::gui {

using viewer::ViewPlane;

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("Radmark"));
    setAcceptDrops(true);
    viewer_ = new viewer::FourUpViewer(this);
    setCentralWidget(viewer_);
    loader_ = new StudyLoader(this);

    status_ = new QLabel(tr("Open a study: File > Open, or drop a file or folder here."), this);
    status_->setObjectName(QStringLiteral("statusText"));
    statusBar()->addWidget(status_, 1);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 100);
    progress_->setMaximumWidth(240);
    progress_->hide();
    statusBar()->addPermanentWidget(progress_);

    connect(viewer_, &viewer::FourUpViewer::statusMessage, status_, &QLabel::setText);
    connect(loader_, &StudyLoader::progressed, this,
            [this](double fraction) { progress_->setValue(int(fraction * 100)); });
    connect(loader_, &StudyLoader::volumeLoaded, this, &MainWindow::showVolume);
    connect(loader_, &StudyLoader::seriesFound, this, &MainWindow::chooseSeries);
    connect(loader_, &StudyLoader::failed, this, &MainWindow::reportFailure);
    connect(loader_, &StudyLoader::finished, this, [this] {
        if (!loader_->busy())
            progress_->hide();
    });
    buildMenus();
    addPanel(new gui::SegmentsPanel(*viewer_->labelEditor(), viewer_->volumeView(), this),
             tr("Segments"));
    addPanel(new gui::ToolsPanel(*viewer_->labelEditor(), viewer_->boxInteraction(), this),
             tr("Tools"));
    resize(1400, 1000);
}

QDockWidget* MainWindow::addPanel(QWidget* panel, const QString& title) {
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(panel->objectName() + QStringLiteral("Dock"));
    dock->setWidget(panel);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetClosable);
    addDockWidget(Qt::RightDockWidgetArea, dock);
    panelsMenu_->addAction(dock->toggleViewAction());
    return dock;
}

MainWindow::~MainWindow() = default;

void MainWindow::setInteractive(bool interactive) {
    interactive_ = interactive;
}

viewer::FourUpViewer* MainWindow::viewer() const {
    return viewer_;
}

bool MainWindow::loading() const {
    return loader_->busy();
}

void MainWindow::buildMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open File..."), QKeySequence::Open, this, &MainWindow::openFileDialog);
    file->addAction(tr("Open &Folder..."), QKeySequence(tr("Ctrl+Shift+O")), this,
                    &MainWindow::openFolderDialog);
    file->addAction(tr("Save &Screenshot..."), QKeySequence(tr("Ctrl+Shift+S")), this,
                    &MainWindow::screenshotDialog);
    file->addAction(tr("&Close Study"), QKeySequence::Close, this, &MainWindow::closeStudy);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("&Reset Views"), QKeySequence(tr("Ctrl+R")), viewer_,
                    &viewer::FourUpViewer::resetViews);
    const struct {
        const char* name;
        const char* keys;
        int which; // 0..2 slice planes, 3 = 3D
    } maximise[] = {{"Maximise &Axial", "Ctrl+1", 0},
                    {"Maximise &Coronal", "Ctrl+2", 1},
                    {"Maximise &Sagittal", "Ctrl+3", 2},
                    {"Maximise &3D", "Ctrl+4", 3}};
    for (const auto& m : maximise) {
        view->addAction(tr(m.name), QKeySequence(tr(m.keys)), this, [this, which = m.which] {
            QWidget* target = which == 3 ? static_cast<QWidget*>(viewer_->volumeView())
                                         : viewer_->sliceView(ViewPlane(which));
            viewer_->toggleMaximised(target);
        });
    }
    view->addSeparator();
    panelsMenu_ = view->addMenu(tr("&Panels"));

    QMenu* contrast = menuBar()->addMenu(tr("&Window/Level"));
    contrast->addAction(tr("&Default"), QKeySequence(tr("0")), viewer_,
                        &viewer::FourUpViewer::applyDefaultWindowLevel);
    for (const auto& preset : viewer::ctWindowPresets()) {
        contrast->addAction(tr("CT %1 (W %2, L %3)")
                                .arg(QString::fromStdString(preset.name))
                                .arg(preset.value.window)
                                .arg(preset.value.level),
                            QKeySequence(QString::fromStdString(preset.shortcut)), this,
                            [this, value = preset.value] { viewer_->setWindowLevel(value); });
    }

    // Annotation: one checkable entry per tool, in the order of the Tools panel (which shows the
    // same choice), with the key the tool's description gives; whole-segment tools in a submenu
    // (set up and Apply in the Tools panel). A whole-segment tool with a key gets a second entry
    // that applies it at once, so the chosen brush stays chosen. Navigation is no tool: Escape.
    QMenu* annotate = menuBar()->addMenu(tr("&Annotate"));
    viewer::LabelEditor* editor = viewer_->labelEditor();
    auto* tools = new QActionGroup(this);
    tools->setExclusionPolicy(QActionGroup::ExclusionPolicy::ExclusiveOptional);
    const auto keyOf = [](const annotation::ToolDescription& tool) {
        return QKeySequence(QString::fromStdString(tool.key), QKeySequence::PortableText);
    };
    QMenu* segmentTools = nullptr;
    QStringList appliedByKey;
    for (const QString& name : viewer::LabelEditor::toolList()) {
        const annotation::ToolDescription* tool = viewer::LabelEditor::toolDescription(name);
        const bool wholeSegment = tool && tool->kind == annotation::ToolKind::WholeSegment;
        if (wholeSegment && !segmentTools)
            segmentTools = annotate->addMenu(tr("Segment &Tools"));
        QMenu* menu = wholeSegment ? segmentTools : annotate;
        QAction* action = menu->addAction(viewer::LabelEditor::toolTitle(name), this,
                                          [editor, name] { editor->selectTool(name); });
        if (!tool)
            action->setShortcut(QKeySequence(Qt::Key_Escape));
        else if (!wholeSegment)
            action->setShortcut(keyOf(*tool));
        else if (!tool->key.empty())
            appliedByKey << name;
        action->setCheckable(true);
        action->setChecked(name == editor->toolName());
        action->setData(name);
        action->setObjectName(QStringLiteral("tool:") + name);
        tools->addAction(action);
    }
    connect(editor, &viewer::LabelEditor::toolChanged, tools, [tools](const QString& name) {
        for (QAction* action : tools->actions())
            action->setChecked(action->data().toString() == name);
    });
    for (const QString& name : appliedByKey) {
        QAction* apply = annotate->addAction(viewer::LabelEditor::toolTitle(name), this,
                                             [editor, name] { editor->applyTool(name); });
        apply->setShortcut(keyOf(*viewer::LabelEditor::toolDescription(name)));
        apply->setObjectName(QStringLiteral("apply:") + name);
    }
    annotate->addSeparator();
    QAction* sphere = annotate->addAction(tr("3D &Sphere Brush"), this,
                                          [editor](bool on) { editor->setSphereBrush(on); });
    sphere->setCheckable(true);
    sphere->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_S));
    sphere->setObjectName(QStringLiteral("sphereBrush"));
    connect(editor, &viewer::LabelEditor::toolSettingChanged, sphere,
            [sphere, editor] { sphere->setChecked(editor->sphereBrush()); });
    annotate->addAction(tr("S&maller Brush"), QKeySequence(Qt::Key_BracketLeft), editor,
                        &viewer::LabelEditor::shrinkBrush);
    annotate->addAction(tr("&Larger Brush"), QKeySequence(Qt::Key_BracketRight), editor,
                        &viewer::LabelEditor::growBrush);
    // boxes: Delete removes the box selected with a box tool (one undo step).
    annotate->addAction(tr("&Delete Selected Box"), QKeySequence(Qt::Key_Delete),
                        viewer_->boxInteraction(), &viewer::BoxInteraction::removeSelectedBox);
    annotate->addSeparator();
    QAction* undo = annotate->addAction(tr("&Undo"), this, [this] {
        if (!viewer_->labelEditor()->undo())
            status_->setText(tr("Nothing to undo."));
    });
    undo->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Z)});
    QAction* redo = annotate->addAction(tr("&Redo"), this, [this] {
        if (!viewer_->labelEditor()->redo())
            status_->setText(tr("Nothing to redo."));
    });
    redo->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)});

    QMenu* rendering = menuBar()->addMenu(tr("&3D"));
    int key = 1; // F5, F6, F7
    for (const auto& preset : viewer::volumeRenderingPresets()) {
        rendering->addAction(QString::fromStdString(preset.name), QKeySequence(Qt::Key_F4 + key++),
                             this,
                             [this, &preset] { viewer_->applyVolumeRenderingPreset(preset); });
    }
}

void MainWindow::openFileDialog() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open study file"), QString(),
        tr("Images (*.dcm *.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd DICOMDIR);;All files (*)"));
    if (!path.isEmpty())
        openPath(path);
}

void MainWindow::openFolderDialog() {
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open DICOM folder"));
    if (!path.isEmpty())
        openPath(path);
}

void MainWindow::screenshotDialog() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save screenshot"), QStringLiteral("radmark.png"), tr("PNG images (*.png)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!saveScreenshot(path, &error))
        QMessageBox::warning(this, tr("Screenshot not saved"), error);
}

void MainWindow::openPath(const QString& path) {
    status_->setText(tr("Opening..."));
    progress_->setValue(0);
    progress_->show();
    loader_->open(path);
}

void MainWindow::chooseSeries(std::vector<imaging::SeriesSummary> series) {
    int index = SeriesPickerDialog::largest(series);
    if (interactive_) {
        SeriesPickerDialog picker(series, this);
        if (picker.exec() != QDialog::Accepted || picker.chosenIndex() < 0) {
            status_->setText(tr("Nothing opened."));
            return;
        }
        index = picker.chosenIndex();
    }
    progress_->setValue(0);
    progress_->show();
    loader_->read(series[index]);
}

void MainWindow::showVolume(std::shared_ptr<imaging::Volume> volume,
                            const imaging::ReadReport& report) {
    viewer_->setVolume(std::move(volume));
    const imaging::Volume* shown = viewer_->volume();
    const auto& dims = shown->geometry().dims;
    setWindowTitle(tr("Radmark - %1 %2 x %3 x %4")
                       .arg(QString::fromStdString(shown->modality.empty() ? shown->sourceFormat
                                                                           : shown->modality))
                       .arg(dims[0])
                       .arg(dims[1])
                       .arg(dims[2]));
    QString text = viewer_->describePoint(viewer_->cursor().index());
    if (!report.warnings.empty()) {
        // Irregular spacing, missing slices, mixed series: shown as read, never resampled, so
        // the reader must know.
        QStringList notes;
        for (const auto& warning : report.warnings)
            notes << QString::fromStdString(warning);
        text = tr("Note: %1").arg(notes.front());
        status_->setToolTip(notes.join('\n'));
        if (interactive_)
            QMessageBox::information(this, tr("Study opened with notes"), notes.join('\n'));
    } else {
        status_->setToolTip(QString());
    }
    status_->setText(text);
    emit studyShown();
}

void MainWindow::showStoredVolume(std::shared_ptr<imaging::Volume> volume) {
    showVolume(std::move(volume), imaging::ReadReport{});
}

void MainWindow::closeStudy() {
    viewer_->clearVolume();
    setWindowTitle(tr("Radmark"));
}

void MainWindow::reportFailure(const QString& message) {
    status_->setText(tr("Could not open the study."));
    if (interactive_)
        QMessageBox::warning(this, tr("Could not open the study"), message);
    emit loadFailed(message);
}

bool MainWindow::saveScreenshot(const QString& file, QString* error) {
    // grab() renders every view afresh (QOpenGLWidget::grabFramebuffer calls paintGL).
    const QImage image = grab().toImage();
    if (image.isNull()) {
        if (error)
            *error = tr("The window could not be captured.");
        return false;
    }
    if (!image.save(file, "PNG")) {
        if (error)
            *error = tr("Could not write %1 (check the folder exists and is writable).").arg(file);
        return false;
    }
    return true;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.front().isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (urls.isEmpty() || !urls.front().isLocalFile())
        return;
    event->acceptProposedAction();
    openPath(urls.front().toLocalFile());
}

} // namespace radmark::gui
