#include "report/TextWriters.h"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace radmark::report {
namespace {

std::string cellText(const Cell& cell) {
    return cell.isNumber() ? formatNumber(*cell.value, cell.decimals) : cell.text;
}

// Text inside a GitHub table cell: a '|' would end the cell and a line break the row.
std::string markdownCell(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '|') {
            out += "\\|";
        } else if (c == '\r') {
            if (i + 1 < text.size() && text[i + 1] == '\n')
                ++i;
            out += "<br>";
        } else if (c == '\n') {
            out += "<br>";
        } else {
            out += c;
        }
    }
    return out;
}

// A heading or caption is one line.
std::string oneLine(const std::string& text) {
    std::string out = text;
    for (char& c : out)
        if (c == '\n' || c == '\r')
            c = ' ';
    return out;
}

std::string alignmentMark(Align align) {
    switch (align) {
    case Align::Left:
        return ":---";
    case Align::Right:
        return "---:";
    case Align::Center:
        return ":---:";
    }
    return "---";
}

void appendMarkdownTable(std::string& out, const Table& table) {
    if (!table.caption.empty())
        out += "*" + oneLine(table.caption) + "*\n\n";
    out += "|";
    for (const Column& column : table.columns)
        out += " " + markdownCell(column.heading) + " |";
    out += "\n|";
    for (const Column& column : table.columns)
        out += " " + alignmentMark(column.align) + " |";
    out += "\n";
    for (const auto& row : table.rows) {
        out += "|";
        for (std::size_t i = 0; i < table.columns.size(); ++i) {
            const std::string text = i < row.size() ? markdownCell(cellText(row[i])) : "";
            out += text.empty() ? " |" : " " + text + " |";
        }
        out += "\n";
    }
    out += "\n";
    if (table.hasUndefinedNumber())
        out += oneLine(table.undefinedNote) + "\n\n";
}

void appendParagraph(std::string& out, const std::string& text) {
    // A backslash at the end of a line is CommonMark's hard line break.
    std::string body;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r')
            continue;
        body += text[i] == '\n' ? std::string("\\\n") : std::string(1, text[i]);
    }
    out += body + "\n\n";
}

void appendFigure(std::string& out, const std::string& title, const std::string& caption,
                  const Table& numbers) {
    out += "**Figure: " + oneLine(title) + "**\n\n";
    if (!caption.empty())
        out += oneLine(caption) + "\n\n";
    appendMarkdownTable(out, numbers);
}

} // namespace

std::string formatNumber(double value, int decimals) {
    if (!std::isfinite(value))
        return "";
    if (decimals < 0 || decimals > 17)
        throw std::invalid_argument("report::formatNumber: decimals must be 0 to 17");
    char buffer[400];
    const auto result =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals);
    std::string text(buffer, result.ptr);
    // A value that rounds to zero is written without its sign, so -0.0001 and 0 agree.
    if (text.front() == '-' && text.find_first_not_of("-0.") == std::string::npos)
        text.erase(0, 1);
    return text;
}

Table summaryTable(const StripPlot& plot) {
    const std::string unit = plot.valueAxis.unit.empty() ? "" : " (" + plot.valueAxis.unit + ")";
    Table table;
    table.columns = {{plot.categoryLabel.empty() ? "Category" : plot.categoryLabel, Align::Left},
                     {"n", Align::Right},
                     {"not defined", Align::Right},
                     {"first quartile" + unit, Align::Right},
                     {"median" + unit, Align::Right},
                     {"third quartile" + unit, Align::Right}};
    table.caption = plot.valueAxis.label + ": median and quartiles (linear interpolation)";
    table.undefinedNote = "An empty cell: the category has no defined value.";
    const int decimals = plot.valueAxis.decimals;
    for (const auto& category : plot.categories) {
        const auto q = quartiles(category.values);
        const double none = std::nan("");
        const std::size_t count = q ? q->count : 0;
        table.rows.push_back({category.name, std::to_string(count),
                              std::to_string(category.values.size() - count),
                              Cell::number(q ? q->first : none, decimals),
                              Cell::number(q ? q->median : none, decimals),
                              Cell::number(q ? q->third : none, decimals)});
    }
    return table;
}

Table summaryTable(const BarChart& chart) {
    Table table;
    table.columns = {{chart.categoryLabel.empty() ? "Category" : chart.categoryLabel, Align::Left},
                     {chart.valueAxis.title(), Align::Right}};
    table.undefinedNote = "An empty cell is a value that is not defined.";
    for (const auto& bar : chart.bars)
        table.rows.push_back({bar.name, Cell::number(bar.value, chart.valueAxis.decimals)});
    return table;
}

std::string writeMarkdown(const Report& report) {
    std::string out = "# " + oneLine(report.title) + "\n\n";
    for (const MetadataLine& line : report.metadata)
        out += "- **" + oneLine(line.name) + ":** " + oneLine(line.value) + "\n";
    if (!report.metadata.empty())
        out += "\n";
    for (const Section& section : report.sections) {
        out += "## " + oneLine(section.heading) + "\n\n";
        for (const Block& block : section.blocks) {
            if (const auto* paragraph = std::get_if<Paragraph>(&block))
                appendParagraph(out, paragraph->text);
            else if (const auto* table = std::get_if<Table>(&block))
                appendMarkdownTable(out, *table);
            else if (const auto* plot = std::get_if<StripPlot>(&block))
                appendFigure(out, plot->title, plot->caption, summaryTable(*plot));
            else if (const auto* chart = std::get_if<BarChart>(&block))
                appendFigure(out, chart->title, chart->caption, summaryTable(*chart));
        }
    }
    return out;
}

std::string writeCsv(const Table& table) {
    const auto field = [](const std::string& text) {
        if (text.find_first_of(",\"\r\n") == std::string::npos)
            return text;
        std::string quoted = "\"";
        for (char c : text)
            quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
        return quoted + "\"";
    };
    std::string out;
    for (std::size_t i = 0; i < table.columns.size(); ++i)
        out += (i ? "," : "") + field(table.columns[i].heading);
    out += "\r\n";
    for (const auto& row : table.rows) {
        for (std::size_t i = 0; i < table.columns.size(); ++i)
            out += (i ? "," : "") + (i < row.size() ? field(cellText(row[i])) : std::string());
        out += "\r\n";
    }
    return out;
}

} // namespace radmark::report
