// Import > From PACS: the dialog offers the policy's nodes (the preferred first), says so when
// the policy has none, and a search runs on its worker thread and shows the PACS's refusal (a
// node where nothing listens) in its status line. The query and retrieve themselves against a
// real Orthanc are orthanc_test.py's.

#include "../storage/StoreTestSupport.h"
#include "GuiTestSupport.h"
#include "app/gui/PacsImportDialog.h"

#include <QApplication>
#include <QComboBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTreeWidget>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace radmark::storage::testing {
namespace {

class PacsDialog : public radmark::testing::GuiTest {};

// A loopback port where nothing listens (bound, then closed).
int closedPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t size = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    ::close(fd);
    return ntohs(address.sin_port);
}

TEST_F(PacsDialog, WithoutNodesItSaysSo) {
    TestStore store;
    Session admin = store.admin();
    gui::PacsImportDialog dialog(admin);
    dialog.show();
    auto* status = dialog.findChild<QLabel*>("pacsStatus");
    ASSERT_NE(status, nullptr);
    EXPECT_TRUE(status->text().contains("lists no PACS node")) << status->text().toStdString();
    EXPECT_FALSE(dialog.findChild<QPushButton*>("searchButton")->isEnabled());
}

TEST_F(PacsDialog, SearchRunsOnAWorkerAndShowsWhyItFailed) {
    Policy policy = lowCostPolicy();
    const std::string url = "http://127.0.0.1:" + std::to_string(closedPort()) + "/dicom-web";
    policy.pacsNodes.push_back({"second", url, false, true, {}, {}, {}, {}});
    policy.pacsNodes.push_back({"main", url, true, true, {}, {}, {}, {}});
    TestStore store(policy);
    Session admin = store.admin();
    gui::PacsImportDialog dialog(admin);
    dialog.show();
    auto* node = dialog.findChild<QComboBox*>("pacsNode");
    ASSERT_EQ(node->count(), 2);
    EXPECT_EQ(node->itemText(0), "main"); // the preferred one first
    dialog.findChild<QLineEdit*>("patientId")->setText("ANY-ID");
    bool finished = false;
    QObject::connect(&dialog, &gui::PacsImportDialog::searchFinished, [&] { finished = true; });
    dialog.search();
    EXPECT_TRUE(dialog.isBusy());
    QElapsedTimer timer;
    timer.start();
    while (!finished && timer.elapsed() < 60000)
        QApplication::processEvents(QEventLoop::AllEvents, 50);
    ASSERT_TRUE(finished);
    EXPECT_FALSE(dialog.isBusy());
    const QString status = dialog.findChild<QLabel*>("pacsStatus")->text();
    EXPECT_TRUE(status.contains("could not be reached")) << status.toStdString();
    EXPECT_EQ(dialog.results()->topLevelItemCount(), 0);
}

} // namespace
} // namespace radmark::storage::testing
