// PDF reports written with no display (CTest unsets DISPLAY and QT_QPA_PLATFORM for these
// tests, and they check it), read back by tools that are not ours: poppler's pdftotext finds
// the title, the cells, the axis titles and "page 2 of 2", with a long table's header repeated
// on its second page; pdfinfo says A4, the page count and the creation date we set; pdftoppm
// renders page 1 and the plot's area has dark pixels where an empty report has none. Qt prints
// no warning on the way.

#include "report/PdfWriter.h"

#include <QString>
#include <QtGlobal>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace radmark::report {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono;

std::vector<std::string> qtMessages;

void recordQtMessage(QtMsgType, const QMessageLogContext&, const QString& message) {
    qtMessages.push_back(message.toStdString());
}

// Installed before anything touches Qt, so that a warning from the platform or the fonts fails.
struct QtMessageRecorder : ::testing::Environment {
    void SetUp() override { qInstallMessageHandler(recordQtMessage); }
};
[[maybe_unused]] const auto* recorder = ::testing::AddGlobalTestEnvironment(new QtMessageRecorder);

struct TemporaryFolder {
    TemporaryFolder() {
        std::string pattern = (fs::temp_directory_path() / "radmark-pdf-XXXXXX").string();
        path = ::mkdtemp(pattern.data());
    }
    ~TemporaryFolder() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    fs::path path;
};

// The output of a command; the test fails when it does not exit with 0.
std::string run(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) {
        ADD_FAILURE() << "cannot run " << command;
        return output;
    }
    std::array<char, 4096> buffer;
    while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
        output.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    EXPECT_EQ(status, 0) << command << "\n" << output;
    return output;
}

std::string text(const fs::path& pdf, int page) {
    return run("pdftotext -f " + std::to_string(page) + " -l " + std::to_string(page) + " '" +
               pdf.string() + "' -");
}

std::string contents(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

Table longTable(int rows) {
    Table table;
    table.columns = {{"Study", Align::Left},
                     {"Annotator pair", Align::Left},
                     {"Dice", Align::Right},
                     {"HD95 (mm)", Align::Right}};
    table.caption = "Pairwise agreement, every study";
    for (int i = 1; i <= rows; ++i)
        table.rows.push_back(
            {"study-" + std::to_string(i), "annie / bert", Cell::number(0.8 + 0.002 * i, 3),
             Cell::number(i % 7 == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.5 + 0.1 * i,
                          2)});
    return table;
}

StripPlot dicePlot() {
    StripPlot plot;
    plot.title = "Dice per segment";
    plot.categoryLabel = "Segment";
    plot.valueAxis = {"Dice", "ratio", 0.0, 1.0, 3};
    plot.categories = {{"Liver", {0.91, 0.88, 0.93, 0.95, 0.90, 0.86}},
                       {"Spleen", {0.72, 0.81, 0.79, std::numeric_limits<double>::quiet_NaN()}},
                       {"Kidney", {0.65, 0.70, 0.84}}};
    plot.caption = "One dot per annotator pair; box from the first to the third quartile.";
    return plot;
}

BarChart volumeChart() {
    BarChart chart;
    chart.title = "Segment volume";
    chart.categoryLabel = "Segment";
    chart.valueAxis = {"Volume", "mL", {}, {}, 1};
    chart.bars = {{"Liver", 1510.2}, {"Spleen", 210.5}, {"Kidney", 160.0}};
    return chart;
}

Report plotReport() {
    Report report;
    report.title = "Agreement report";
    report.metadata = {{"Store", "demo store"}, {"Software", "Radmark 0.1.0"}};
    report.sections.push_back({"Dice", {dicePlot()}});
    report.sections.push_back({"Volumes", {volumeChart()}});
    return report;
}

Report textOnlyReport() {
    Report report;
    report.title = "Agreement report";
    report.metadata = {{"Store", "demo store"}, {"Software", "Radmark 0.1.0"}};
    return report;
}

PdfOptions fixedDate() {
    PdfOptions options;
    options.creationDate = sys_days{2026y / January / 2} + 3h + 4min + 5s;
    return options;
}

// Page 1 at 50 dpi in grey levels (a binary PGM from pdftoppm).
struct Greyscale {
    int width = 0, height = 0;
    std::vector<unsigned char> pixels;
    // Pixels darker than mid-grey in a rectangle given in points from the top left.
    int darkPixels(double left, double top, double right, double bottom) const {
        const double scale = 50.0 / 72.0;
        int count = 0;
        for (int y = static_cast<int>(top * scale); y < static_cast<int>(bottom * scale); ++y)
            for (int x = static_cast<int>(left * scale); x < static_cast<int>(right * scale); ++x)
                if (x < width && y < height && pixels[y * width + x] < 128)
                    ++count;
        return count;
    }
};

Greyscale renderFirstPage(const fs::path& pdf, const fs::path& folder) {
    run("pdftoppm -r 50 -gray -f 1 -l 1 -singlefile '" + pdf.string() + "' '" +
        (folder / "page").string() + "'");
    std::ifstream in(folder / "page.pgm", std::ios::binary);
    std::string magic;
    int maximum = 0;
    Greyscale image;
    in >> magic >> image.width >> image.height >> maximum;
    in.get();
    EXPECT_EQ(magic, "P5");
    EXPECT_EQ(maximum, 255);
    image.pixels.resize(static_cast<std::size_t>(image.width) * image.height);
    in.read(reinterpret_cast<char*>(image.pixels.data()), image.pixels.size());
    return image;
}

TEST(ReportPdf, RunsWithoutADisplay) {
    EXPECT_EQ(std::getenv("DISPLAY"), nullptr) << "CTest should have unset DISPLAY";
    EXPECT_EQ(std::getenv("QT_QPA_PLATFORM"), nullptr) << "CTest should have unset it";
    TemporaryFolder folder;
    writePdf(textOnlyReport(), folder.path / "report.pdf");
    EXPECT_TRUE(contains(text(folder.path / "report.pdf", 1), "Agreement report"));
    EXPECT_TRUE(qtMessages.empty()) << qtMessages.front();
}

TEST(ReportPdf, LongTableBreaksWithItsHeaderRepeatedAndPagesNumbered) {
    TemporaryFolder folder;
    Report report;
    report.title = "Agreement report";
    report.metadata = {{"Store", "demo store"}};
    report.sections.push_back(
        {"Pairwise metrics", {Paragraph{"Every annotator pair."}, longTable(50)}});
    const fs::path pdf = folder.path / "report.pdf";
    writePdf(report, pdf, fixedDate());

    const std::string info = run("TZ=UTC pdfinfo -isodates '" + pdf.string() + "'");
    EXPECT_TRUE(contains(info, "Pages:           2")) << info;
    EXPECT_TRUE(contains(info, "(A4)")) << info;
    EXPECT_TRUE(contains(info, "Title:           Agreement report")) << info;
    EXPECT_TRUE(contains(info, "Creator:         Radmark")) << info;
    EXPECT_TRUE(contains(info, "CreationDate:    2026-01-02T03:04:05Z")) << info;

    const std::string first = text(pdf, 1);
    const std::string second = text(pdf, 2);
    EXPECT_TRUE(contains(first, "Agreement report"));
    EXPECT_TRUE(contains(first, "Pairwise metrics"));
    EXPECT_TRUE(contains(first, "Annotator pair"));
    EXPECT_TRUE(contains(first, "study-1\n") || contains(first, "study-1 ")) << first;
    EXPECT_TRUE(contains(first, "0.802"));
    EXPECT_TRUE(contains(first, "page 1 of 2")) << first;
    EXPECT_FALSE(contains(first, "study-50"));

    // The second page starts with the caption and the header again, and ends the table.
    EXPECT_TRUE(contains(second, "Pairwise agreement, every study (continued)")) << second;
    EXPECT_TRUE(contains(second, "Annotator pair")) << second;
    EXPECT_TRUE(contains(second, "HD95 (mm)")) << second;
    EXPECT_TRUE(contains(second, "study-50")) << second;
    EXPECT_TRUE(contains(second, "0.900")) << second;
    EXPECT_TRUE(contains(second, "page 2 of 2")) << second;
    EXPECT_FALSE(contains(second, "study-1\n")) << second;
    // Row 49 has no HD95 (49 % 7 == 0): an empty cell and the note, never "nan".
    EXPECT_TRUE(contains(second, "An empty cell is a value that is not defined")) << second;
    EXPECT_FALSE(contains(first + second, "nan"));
    EXPECT_FALSE(contains(first + second, "inf"));
    EXPECT_TRUE(qtMessages.empty()) << qtMessages.front();
}

TEST(ReportPdf, PlotsAreDrawnWithTheirAxisTitles) {
    TemporaryFolder folder;
    const fs::path pdf = folder.path / "plots.pdf";
    const fs::path empty = folder.path / "empty.pdf";
    writePdf(plotReport(), pdf, fixedDate());
    writePdf(textOnlyReport(), empty, fixedDate());

    const std::string all = run("pdftotext '" + pdf.string() + "' -");
    for (const char* expected : {"Dice per segment", "Dice (ratio)", "Segment", "Liver", "Spleen",
                                 "Kidney", "6 values", "3 values, 1 not defined", "Segment volume",
                                 "Volume (mL)", "1510.2", "0.0", "0.6", "1.0", "2000"})
        EXPECT_TRUE(contains(all, expected)) << expected << " missing in:\n" << all;

    // The strip plot sits under the title block, in the page's upper half: ink there, and none
    // in the same place of a report without plots.
    TemporaryFolder pages;
    const Greyscale plotted = renderFirstPage(pdf, pages.path);
    EXPECT_NEAR(plotted.width, 595.276 * 50 / 72, 1);
    EXPECT_NEAR(plotted.height, 841.89 * 50 / 72, 1);
    const int plotInk = plotted.darkPixels(100, 160, 540, 340);
    TemporaryFolder emptyPages;
    const int emptyInk = renderFirstPage(empty, emptyPages.path).darkPixels(100, 160, 540, 340);
    EXPECT_GT(plotInk, 300) << "the plot area is blank";
    EXPECT_EQ(emptyInk, 0);
    EXPECT_TRUE(qtMessages.empty()) << qtMessages.front();
}

TEST(ReportPdf, SameReportAndDateGiveTheSameBytes) {
    const std::string first = renderPdf(plotReport(), fixedDate());
    const std::string second = renderPdf(plotReport(), fixedDate());
    EXPECT_EQ(first, second);
    PdfOptions later = fixedDate();
    *later.creationDate += 24h;
    EXPECT_NE(renderPdf(plotReport(), later), first);
}

// The date Qt wrote in local time is replaced whatever the time zone (+05'30' is longer than Z).
TEST(ReportPdf, TimeZoneDoesNotChangeTheBytes) {
    setenv("TZ", "UTC0", 1);
    tzset();
    const std::string utc = renderPdf(plotReport(), fixedDate());
    setenv("TZ", "IST-5:30", 1);
    tzset();
    const std::string india = renderPdf(plotReport(), fixedDate());
    unsetenv("TZ");
    tzset();
    EXPECT_EQ(utc, india);
    EXPECT_TRUE(contains(utc, "/CreationDate (D:20260102030405Z)"));
}

// Nothing in these breaks the layout or the file: empty tables, plots without data, one value,
// negative bars, a word wider than a column, a paragraph longer than a page.
TEST(ReportPdf, EmptyAndOddContentStillMakesAReadablePdf) {
    const double undefined = std::numeric_limits<double>::quiet_NaN();
    Report report;
    report.title = "Odd content";
    Table noColumns;
    Table noRows;
    noRows.columns = {{"Segment"}, {"Dice", Align::Right}};
    noRows.caption = "No rows yet";
    Table narrow;
    narrow.columns = {{"Name"}, {"a"}, {"b"}, {"c"}, {"d"}, {"e"}, {"f"}};
    narrow.rows = {{std::string(300, 'W'), "1", "2", "3", "4", "5", "6"}};
    StripPlot nothing;
    nothing.title = "No categories";
    nothing.valueAxis = {"Dice", "ratio", {}, {}, 3};
    StripPlot undefinedOnly;
    undefinedOnly.title = "Only undefined values";
    undefinedOnly.valueAxis = {"HD95", "mm", {}, {}, 2};
    undefinedOnly.categories = {{"Liver", {undefined, undefined}}, {"Spleen", {4.0}}};
    BarChart negative;
    negative.title = "Volume change";
    negative.valueAxis = {"Change", "mL", {}, {}, 1};
    negative.bars = {{"Liver", -12.5}, {"Spleen", 3.0}, {"Kidney", undefined}};
    std::string longText;
    for (int i = 0; i < 900; ++i)
        longText += "word" + std::to_string(i) + " ";
    report.sections.push_back({"Tables", {noColumns, noRows, narrow}});
    report.sections.push_back({"Plots", {nothing, undefinedOnly, negative}});
    report.sections.push_back({"Text", {Paragraph{longText}}});
    report.sections.push_back({"Empty section", {}});

    TemporaryFolder folder;
    const fs::path pdf = folder.path / "odd.pdf";
    writePdf(report, pdf, fixedDate());
    const std::string info = run("pdfinfo '" + pdf.string() + "'");
    EXPECT_TRUE(contains(info, "(A4)")) << info;
    const std::string all = run("pdftotext '" + pdf.string() + "' -");
    for (const char* expected :
         {"No rows yet", "No categories", "Only undefined values", "0 values, 2 not defined",
          "-12.5", "not defined", "word0", "word899", "Empty section", "HD95 (mm)", "Change (mL)"})
        EXPECT_TRUE(contains(all, expected)) << expected << " missing";
    EXPECT_FALSE(contains(all, "nan"));
    EXPECT_TRUE(qtMessages.empty()) << qtMessages.front();
}

TEST(ReportPdf, MissingFolderThrowsAndLeavesNothing) {
    TemporaryFolder folder;
    EXPECT_THROW(writePdf(plotReport(), folder.path / "missing" / "report.pdf"), ReportWriteError);
    EXPECT_TRUE(fs::is_empty(folder.path));
}

TEST(ReportPdf, ReplacesAnExistingReportWhole) {
    TemporaryFolder folder;
    const fs::path pdf = folder.path / "report.pdf";
    { std::ofstream(pdf) << "an older report"; }
    writePdf(plotReport(), pdf, fixedDate());
    EXPECT_EQ(contents(pdf), renderPdf(plotReport(), fixedDate()));
    EXPECT_EQ(fs::status(pdf).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_TRUE(contains(run("pdfinfo '" + pdf.string() + "'"), "Pages:"));
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(folder.path))
        ++files;
    EXPECT_EQ(files, 1u);
}

} // namespace
} // namespace radmark::report
