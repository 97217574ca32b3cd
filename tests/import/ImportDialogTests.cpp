// The import dialog drives the same import on a worker thread: progress reaches the end and the
// result table shows one row per study with its outcome.

#include "../storage/StoreTestSupport.h"
#include "GuiTestSupport.h"
#include "app/gui/import/ImportDialog.h"
#include "storage/Studies.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QProgressBar>
#include <QTableWidget>

#include <gtest/gtest.h>

namespace radmark::storage::testing {
namespace {

namespace fs = std::filesystem;

// Qt and VTK warnings fail the test (GuiTestSupport).
class ImportDialog : public radmark::testing::GuiTest {};

TEST_F(ImportDialog, ImportsOnAWorkerThreadAndShowsOneRowPerStudy) {
    TempDir data;
    const fs::path source = data.path() / "ct";
    const std::string command = "/usr/bin/python3 " + std::string(RADMARK_SOURCE_DIR) +
                                "/tests/data/generate_ct_series.py --out '" + source.string() +
                                "' --slices 5 --rows 64 --cols 64 > /dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0);

    TestStore store;
    Session admin = store.admin();
    gui::ImportDialog dialog(admin);
    dialog.show();
    dialog.setSources({QString::fromStdString(source.string()),
                       QString::fromStdString((data.path() / "missing").string())});
    bool finished = false;
    QObject::connect(&dialog, &gui::ImportDialog::importFinished, [&] { finished = true; });
    dialog.startImport();
    EXPECT_TRUE(dialog.isImporting());
    QElapsedTimer timer;
    timer.start();
    while (!finished && timer.elapsed() < 120000)
        QApplication::processEvents(QEventLoop::AllEvents, 50);
    ASSERT_TRUE(finished);
    EXPECT_FALSE(dialog.isImporting());

    ASSERT_EQ(dialog.results().size(), 2u);
    auto* table = dialog.findChild<QTableWidget*>();
    ASSERT_NE(table, nullptr);
    ASSERT_EQ(table->rowCount(), 2);
    QStringList outcomes;
    for (int row = 0; row < 2; ++row)
        outcomes << table->item(row, 1)->text();
    EXPECT_TRUE(outcomes.contains("imported")) << outcomes.join(", ").toStdString();
    EXPECT_TRUE(outcomes.contains("failed")) << outcomes.join(", ").toStdString();
    auto* progress = dialog.findChild<QProgressBar*>();
    ASSERT_NE(progress, nullptr);
    EXPECT_EQ(progress->value(), progress->maximum());
    EXPECT_EQ(storage::Studies(admin).list().size(), 1u);
}

} // namespace
} // namespace radmark::storage::testing
