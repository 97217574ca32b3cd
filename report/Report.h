#pragma once
// The document model of every report Radmark writes (the agreement report, the export
// datasheet): a title, metadata lines, and sections of paragraphs, tables and plots. Plain C++
// with no Qt, so the workflow layer fills it; the writers (TextWriters.h, PdfWriter.h) turn one
// model into Markdown, CSV and PDF, so the three never disagree.

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace radmark::report {

enum class Align { Left, Right, Center };

// One table cell: text, or a number written with a fixed number of decimals. A number that is
// not finite (NaN, infinity: e.g. a distance to an empty mask) is written as an empty cell, and
// its table's note explains empty cells; never "nan" or "inf".
struct Cell {
    Cell() = default;
    Cell(std::string text) : text(std::move(text)) {}
    Cell(const char* text) : text(text) {}
    static Cell number(double value, int decimals) {
        Cell cell;
        cell.value = value;
        cell.decimals = decimals;
        return cell;
    }
    bool isNumber() const { return value.has_value(); }
    bool isUndefinedNumber() const; // a number that is NaN or infinite

    std::string text;            // used when value is empty
    std::optional<double> value; // a number cell
    int decimals = 3;
};

struct Column {
    std::string heading;
    Align align = Align::Left;
};

struct Table {
    std::vector<Column> columns;
    std::vector<std::vector<Cell>> rows; // each row has one cell per column
    std::string caption;
    // Written after the table (Markdown, PDF) when it has an undefined number.
    std::string undefinedNote = "An empty cell is a value that is not defined (for example a "
                                "distance to an empty segment).";
    bool hasUndefinedNumber() const;
};

struct Paragraph {
    std::string text; // '\n' starts a new line
};

// A value axis: what is measured and in which unit ("HD95", "mm"; "Dice", "ratio").
struct Axis {
    std::string label;
    std::string unit;
    std::optional<double> minimum; // the data's range, rounded to ticks, when not given
    std::optional<double> maximum;
    int decimals = 3; // of values written as numbers (summary tables); ticks choose their own
    std::string title() const { return unit.empty() ? label : label + " (" + unit + ")"; }
};

// The distribution of one quantity per category (e.g. Dice per segment, one dot per annotator
// pair), drawn as the dots with a box from the first to the third quartile and the median.
struct StripPlot {
    struct Category {
        std::string name;
        std::vector<double> values; // values that are not finite are counted, not drawn
    };
    std::string title;
    std::string categoryLabel; // the horizontal axis, e.g. "Segment"
    Axis valueAxis;
    std::vector<Category> categories;
    std::string caption;
};

// One value per category, as bars from zero.
struct BarChart {
    struct Bar {
        std::string name;
        double value = 0; // a value that is not finite is drawn as "not defined"
    };
    std::string title;
    std::string categoryLabel;
    Axis valueAxis;
    std::vector<Bar> bars;
    std::string caption;
};

using Block = std::variant<Paragraph, Table, StripPlot, BarChart>;

struct Section {
    std::string heading;
    std::vector<Block> blocks;
};

struct MetadataLine {
    std::string name; // "Software", "Exported"
    std::string value;
};

struct Report {
    std::string title;
    std::vector<MetadataLine> metadata;
    std::vector<Section> sections;
};

// Median and quartiles of the finite values, by linear interpolation between order statistics
// (the definition of R's default type 7 and numpy's default), so a reader can recompute them.
struct Quartiles {
    double first = 0;
    double median = 0;
    double third = 0;
    std::size_t count = 0;     // finite values used
    std::size_t undefined = 0; // values left out because they are not finite
};
std::optional<Quartiles>
quartiles(const std::vector<double>& values); // none without a finite value

} // namespace radmark::report
