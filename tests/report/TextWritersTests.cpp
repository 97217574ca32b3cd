// The report as text, byte for byte: Markdown (GitHub tables, alignment, escaped '|', line
// breaks), CSV (RFC 4180 quoting of commas, quotes and newlines, CRLF), numbers with fixed
// decimals and '.' under a German locale, undefined values as empty cells with a note, and the
// quartiles the plots draw against numpy's default definition, worked by hand.

#include "report/TextWriters.h"

#include <gtest/gtest.h>

#include <clocale>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <locale>

namespace radmark::report {
namespace {

const double notANumber = std::numeric_limits<double>::quiet_NaN();
const double infinity = std::numeric_limits<double>::infinity();

Table diceTable() {
    Table table;
    table.columns = {{"Segment", Align::Left}, {"Pair", Align::Center}, {"Dice", Align::Right}};
    table.caption = "Pairwise Dice";
    table.rows = {{"Liver", "annie | bert", Cell::number(0.91234, 3)},
                  {"Kidney, left", "say \"hi\"", Cell::number(notANumber, 3)},
                  {"Line\nbreak", "x", Cell::number(-0.00004, 3)},
                  {"Spleen", "", Cell::number(infinity, 3)}};
    return table;
}

Report sampleReport() {
    Report report;
    report.title = "Agreement report";
    report.metadata = {{"Store", "demo"}, {"Created", "2026-01-02 03:04:05 UTC"}};
    Section dice{"Dice per segment", {}};
    dice.blocks.push_back(Paragraph{"Pairwise Dice of every annotator pair.\nSecond line."});
    dice.blocks.push_back(diceTable());
    StripPlot plot;
    plot.title = "Dice per segment";
    plot.categoryLabel = "Segment";
    plot.valueAxis = {"Dice", "ratio", 0.0, 1.0, 3};
    plot.categories = {{"Liver", {0.8, 0.9, 1.0, notANumber}}, {"Empty", {}}};
    plot.caption = "One dot per annotator pair.";
    dice.blocks.push_back(plot);
    Section volumes{"Volumes", {}};
    BarChart chart;
    chart.title = "Segment volume";
    chart.categoryLabel = "Segment";
    chart.valueAxis = {"Volume", "mL", {}, {}, 1};
    chart.bars = {{"Liver", 1510.04}, {"Spleen", infinity}};
    volumes.blocks.push_back(chart);
    report.sections = {dice, volumes};
    return report;
}

TEST(ReportMarkdown, ExactTextOfASmallReport) {
    const std::string expected =
        "# Agreement report\n"
        "\n"
        "- **Store:** demo\n"
        "- **Created:** 2026-01-02 03:04:05 UTC\n"
        "\n"
        "## Dice per segment\n"
        "\n"
        "Pairwise Dice of every annotator pair.\\\n"
        "Second line.\n"
        "\n"
        "*Pairwise Dice*\n"
        "\n"
        "| Segment | Pair | Dice |\n"
        "| :--- | :---: | ---: |\n"
        "| Liver | annie \\| bert | 0.912 |\n"
        "| Kidney, left | say \"hi\" | |\n"
        "| Line<br>break | x | 0.000 |\n"
        "| Spleen | | |\n"
        "\n"
        "An empty cell is a value that is not defined (for example a distance to an empty "
        "segment).\n"
        "\n"
        "**Figure: Dice per segment**\n"
        "\n"
        "One dot per annotator pair.\n"
        "\n"
        "*Dice: median and quartiles (linear interpolation)*\n"
        "\n"
        "| Segment | n | not defined | first quartile (ratio) | median (ratio) | third quartile "
        "(ratio) |\n"
        "| :--- | ---: | ---: | ---: | ---: | ---: |\n"
        "| Liver | 3 | 1 | 0.850 | 0.900 | 0.950 |\n"
        "| Empty | 0 | 0 | | | |\n"
        "\n"
        "An empty cell: the category has no defined value.\n"
        "\n"
        "## Volumes\n"
        "\n"
        "**Figure: Segment volume**\n"
        "\n"
        "| Segment | Volume (mL) |\n"
        "| :--- | ---: |\n"
        "| Liver | 1510.0 |\n"
        "| Spleen | |\n"
        "\n"
        "An empty cell is a value that is not defined.\n"
        "\n";
    EXPECT_EQ(writeMarkdown(sampleReport()), expected);
}

TEST(ReportMarkdown, SameReportSameBytes) {
    EXPECT_EQ(writeMarkdown(sampleReport()), writeMarkdown(sampleReport()));
}

TEST(ReportCsv, QuotesCommasQuotesAndNewlinesAsRfc4180) {
    const std::string expected = "Segment,Pair,Dice\r\n"
                                 "Liver,annie | bert,0.912\r\n"
                                 "\"Kidney, left\",\"say \"\"hi\"\"\",\r\n"
                                 "\"Line\nbreak\",x,0.000\r\n"
                                 "Spleen,,\r\n";
    EXPECT_EQ(writeCsv(diceTable()), expected);
}

TEST(ReportCsv, HeadingsAreQuotedToo) {
    Table table;
    table.columns = {{"HD95, mm"}, {"n"}};
    table.rows = {{Cell::number(2.5, 2), "4"}, {"short row"}};
    EXPECT_EQ(writeCsv(table), "\"HD95, mm\",n\r\n2.50,4\r\nshort row,\r\n");
}

TEST(ReportNumbers, FixedDecimalsNeverNanOrInf) {
    EXPECT_EQ(formatNumber(0.91234, 3), "0.912");
    EXPECT_EQ(formatNumber(0.9125, 2), "0.91");
    EXPECT_EQ(formatNumber(2, 3), "2.000");
    EXPECT_EQ(formatNumber(-1.5, 1), "-1.5");
    EXPECT_EQ(formatNumber(1234567.891, 0), "1234568");
    EXPECT_EQ(formatNumber(-0.0004, 3), "0.000");
    EXPECT_EQ(formatNumber(-0.0, 2), "0.00");
    EXPECT_EQ(formatNumber(notANumber, 3), "");
    EXPECT_EQ(formatNumber(infinity, 3), "");
    EXPECT_EQ(formatNumber(-infinity, 3), "");
}

// A German locale writes 1234,500: the report must not.
TEST(ReportNumbers, PointWhateverTheLocale) {
    const auto folder = std::filesystem::temp_directory_path() / "radmark-report-locale";
    std::filesystem::create_directories(folder);
    const std::string build =
        "localedef -i de_DE -f UTF-8 " + (folder / "de_DE.UTF-8").string() + " 2>/dev/null";
    if (std::system(build.c_str()) != 0 && !std::filesystem::exists(folder / "de_DE.UTF-8"))
        GTEST_SKIP() << "localedef cannot build de_DE.UTF-8 (Debian package locales)";
    setenv("LOCPATH", folder.c_str(), 1);
    // std::locale::global also sets the C library's locale.
    std::locale::global(std::locale("de_DE.UTF-8"));
    char printed[32];
    std::snprintf(printed, sizeof printed, "%.3f", 1234.5);
    EXPECT_STREQ(printed, "1234,500") << "the German locale is not in effect";

    EXPECT_EQ(formatNumber(1234.5, 3), "1234.500");
    EXPECT_EQ(writeCsv(diceTable()).substr(0, 43), "Segment,Pair,Dice\r\nLiver,annie | bert,0.912");
    EXPECT_EQ(writeMarkdown(sampleReport()), writeMarkdown(sampleReport()));
    EXPECT_NE(writeMarkdown(sampleReport()).find("| Liver | 1510.0 |"), std::string::npos);

    std::locale::global(std::locale::classic());
    std::setlocale(LC_ALL, "C");
    unsetenv("LOCPATH");
}

TEST(ReportStatistics, QuartilesAsNumpyDefines) {
    // numpy.percentile([1, 2, 3, 4], [25, 50, 75]) == [1.75, 2.5, 3.25]
    const auto q = quartiles({4, 1, 3, 2});
    ASSERT_TRUE(q);
    EXPECT_DOUBLE_EQ(q->first, 1.75);
    EXPECT_DOUBLE_EQ(q->median, 2.5);
    EXPECT_DOUBLE_EQ(q->third, 3.25);
    EXPECT_EQ(q->count, 4u);
    EXPECT_EQ(q->undefined, 0u);

    const auto one = quartiles({0.7, notANumber, infinity});
    ASSERT_TRUE(one);
    EXPECT_DOUBLE_EQ(one->first, 0.7);
    EXPECT_DOUBLE_EQ(one->median, 0.7);
    EXPECT_DOUBLE_EQ(one->third, 0.7);
    EXPECT_EQ(one->count, 1u);
    EXPECT_EQ(one->undefined, 2u);

    EXPECT_FALSE(quartiles({}));
    EXPECT_FALSE(quartiles({notANumber}));
}

} // namespace
} // namespace radmark::report
