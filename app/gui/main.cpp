// radmark: the annotation workstation.
//   radmark [PATH]                                 opens PATH (DICOM folder/file/DICOMDIR, NIfTI,
//   NRRD, MetaImage) radmark --open PATH --screenshot FILE.png      opens, renders, writes the
//   window as PNG, exits

#include "app/gui/MainWindow.h"
#include "app/gui/ServiceWorkspace.h"
#include "app/gui/StoreWorkspace.h"
#include "imaging/decoder/DecoderProcess.h"
#include "storage/Errors.h"
#include "storage/ProcessHygiene.h"

#include "viewer/FourUpViewer.h"
#include "viewer/VtkOpenGLWidget.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

int main(int argc, char** argv) {
    // Before any password, key or pixel is read: no core dumps, not dumpable, owner-only files.
    try {
        radmark::storage::hardenThisProcess();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "radmark: %s\n", e.what());
        return 1;
    }
    // The decoder's zygote starts now, while the window is built: opening a study then forks a
    // confined child at once instead of exec'ing one (imaging/decoder/DecoderProcess.h).
    radmark::decoder::prestartDecoder();
    // VTK's OpenGL needs a 3.2 core context; it must be the default before QApplication exists.
    radmark::viewer::VtkOpenGLWidget::installDefaultSurfaceFormat();
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Radmark"));
    QApplication::setApplicationVersion(QStringLiteral("0.1.0"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Radmark annotation workstation"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption openOption(QStringList{QStringLiteral("o"), QStringLiteral("open")},
                                        QStringLiteral("Open the study at PATH."),
                                        QStringLiteral("PATH"));
    const QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"),
        QStringLiteral("Write the window as PNG to FILE once the study shows, then exit."),
        QStringLiteral("FILE"));
    const QCommandLineOption storeOption(QStringLiteral("store"),
                                         QStringLiteral("Log in to the encrypted store in DIR."),
                                         QStringLiteral("DIR"));
    const QCommandLineOption policyOption(
        QStringLiteral("policy"),
        QStringLiteral("A policy file that tightens the site's (/etc/radmark/policy.json and the "
                       "store's); looser values are ignored."),
        QStringLiteral("FILE"));
    const QCommandLineOption viaOption(
        QStringLiteral("via"),
        QStringLiteral("Log in to the shared workstation's store through the Radmark service "
                       "(radmarkd) at SOCKET, e.g. /run/radmark/radmarkd.sock."),
        QStringLiteral("SOCKET"));
    parser.addOption(openOption);
    parser.addOption(storeOption);
    parser.addOption(viaOption);
    parser.addOption(policyOption);
    parser.addOption(screenshotOption);
    parser.addPositionalArgument(QStringLiteral("PATH"), QStringLiteral("Study to open."),
                                 QStringLiteral("[PATH]"));
    parser.process(app);

    QString path = parser.value(openOption);
    if (path.isEmpty() && !parser.positionalArguments().isEmpty())
        path = parser.positionalArguments().front();
    const QString screenshot = parser.value(screenshotOption);
    if (!screenshot.isEmpty() && path.isEmpty()) {
        std::fprintf(stderr, "radmark: --screenshot needs a study: --open PATH\n");
        return 2;
    }

    radmark::gui::MainWindow window;
    window.setInteractive(screenshot.isEmpty());
    if (!screenshot.isEmpty()) {
        QObject::connect(&window, &radmark::gui::MainWindow::studyShown, &window, [&] {
            // Let the layout settle and every view paint once before capturing.
            QTimer::singleShot(100, &window, [&] {
                QString error;
                if (!window.saveScreenshot(screenshot, &error)) {
                    std::fprintf(stderr, "radmark: %s\n", qPrintable(error));
                    QApplication::exit(1);
                    return;
                }
                QApplication::exit(0);
            });
        });
        QObject::connect(&window, &radmark::gui::MainWindow::loadFailed, &window,
                         [](const QString& message) {
                             std::fprintf(stderr, "radmark: %s\n", qPrintable(message));
                             QApplication::exit(1);
                         });
    }
    // Service mode: --via, or RADMARK_SERVICE when neither a store nor a file is given, or the
    // package's radmarkd socket when it is there and nothing else is asked for (the desktop
    // entry on a shared workstation). This process then never opens a store file: the service
    // holds the keys.
    QString socket = parser.value(viaOption);
    if (socket.isEmpty() && path.isEmpty() && !parser.isSet(storeOption)) {
        socket = qEnvironmentVariable("RADMARK_SERVICE");
        const QString packaged = QStringLiteral("/run/radmark/radmarkd.sock");
        if (socket.isEmpty() && qEnvironmentVariableIsEmpty("RADMARK_STORE") &&
            std::filesystem::exists(packaged.toStdString()))
            socket = packaged;
    }
    if (!socket.isEmpty()) {
        if (parser.isSet(storeOption) || parser.isSet(policyOption)) {
            std::fprintf(stderr, "radmark: --via takes no --store or --policy: the service's "
                                 "store and the site's policy apply\n");
            return 2;
        }
        auto* service = new radmark::gui::ServiceWorkspace( // the window owns it
            radmark::gui::ServiceWorkspace::throughService(socket.toStdString()), window);
        window.show();
        if (!service->logIn())
            return 0;
        service->chooseStudy(); // her worklist first, as she came to open a study
        return app.exec();
    }
    // Store mode: --store, or RADMARK_STORE when no file is to be opened.
    QString storeDir = parser.value(storeOption);
    if (storeDir.isEmpty() && path.isEmpty())
        storeDir = qEnvironmentVariable("RADMARK_STORE");
    std::unique_ptr<radmark::gui::StoreWorkspace> workspace;
    if (!storeDir.isEmpty()) {
        try {
            // The site's policy applies; --policy FILE may only tighten it.
            std::optional<radmark::storage::Policy> userPolicy;
            if (parser.isSet(policyOption))
                userPolicy = radmark::storage::Policy::load(
                    std::filesystem::path(parser.value(policyOption).toStdString()));
            radmark::storage::Store store(
                storeDir.toStdString(), radmark::storage::Policy::system(), std::move(userPolicy));
            for (const auto& line : store.ignoredPolicyValues())
                std::fprintf(stderr, "radmark: note: --policy %s\n", line.c_str());
            workspace = std::make_unique<radmark::gui::StoreWorkspace>(std::move(store), window);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "radmark: %s\n", e.what());
            return 1;
        }
    }
    window.show();
    if (workspace && !workspace->logIn())
        return 0;
    if (!path.isEmpty())
        window.openPath(path);
    return app.exec();
}
