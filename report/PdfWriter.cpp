#include "report/PdfWriter.h"

#include "report/TextWriters.h"

#include <QBuffer>
#include <QFont>
#include <QFontDatabase>
#include <QFontMetricsF>
#include <QGuiApplication>
#include <QPageLayout>
#include <QPageSize>
#include <QPainter>
#include <QPainterPath>
#include <QPdfWriter>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>

namespace radmark::report {
namespace {

// ---------------------------------------------------------------------------------------------
// The application QPdfWriter needs.

QtMessageHandler previousHandler = nullptr;

// The offscreen platform warns that XDG_RUNTIME_DIR is unset on a bare headless machine: a
// PDF needs no runtime folder, and radmark-cli must not print noise on stderr for it.
void quietStartup(QtMsgType type, const QMessageLogContext& context, const QString& message) {
    if (message.startsWith(QLatin1String("QStandardPaths: XDG_RUNTIME_DIR not set")))
        return;
    if (previousHandler)
        previousHandler(type, context, message);
    else
        std::fprintf(stderr, "%s\n", qPrintable(qFormatLogMessage(type, context, message)));
}

// Never deleted: destroyed after main returns (from an exit handler or a static), Qt 6.4's
// ~QGuiApplication crashes in its font cache, whose thread storage is already gone. The
// process's exit frees it.
QGuiApplication* ownApplication = nullptr;

// ---------------------------------------------------------------------------------------------
// Page geometry, in points (1/72 inch): A4 with 20 mm margins and a footer line.

constexpr double pageWidth = 595.276;
constexpr double pageHeight = 841.890;
constexpr double margin = 56.693;
constexpr double footerHeight = 22;
constexpr double contentLeft = margin;
constexpr double contentWidth = pageWidth - 2 * margin;
constexpr double contentTop = margin;
constexpr double contentBottom = pageHeight - margin - footerHeight;
constexpr int resolution = 1200; // device units per inch; the painter is scaled to points
constexpr double cellPadding = 4;

const QColor ink(0x1a, 0x1a, 0x1a);
const QColor grey(0x80, 0x80, 0x80);
const QColor rule(0xb0, 0xb0, 0xb0);
const QColor headerFill(0xe4, 0xe8, 0xee);
const QColor boxFill(0xc9, 0xdb, 0xf0);
const QColor plotBlue(0x1f, 0x4e, 0x79);
const QColor barFill(0x4a, 0x7d, 0xb5);

QString qt(const std::string& text) {
    return QString::fromStdString(text);
}

struct TextStyle {
    int size = 10; // points
    bool bold = false;
    bool italic = false;
};

const TextStyle titleStyle{18, true, false};
const TextStyle headingStyle{13, true, false};
const TextStyle bodyStyle{10, false, false};
const TextStyle captionStyle{9, false, true};
const TextStyle tableStyle{9, false, false};
const TextStyle tableHeaderStyle{9, true, false};
const TextStyle smallStyle{8, false, false};
const TextStyle noteStyle{8, false, true};

QString fontFamily;

void loadFonts() {
    if (!fontFamily.isEmpty())
        return;
    const char* folder = "/usr/share/fonts/truetype/dejavu/";
    int id = -1;
    for (const char* file : {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
                             "DejaVuSans-BoldOblique.ttf"}) {
        const int loaded = QFontDatabase::addApplicationFont(QString(folder) + file);
        if (id < 0)
            id = loaded;
    }
    const QStringList families =
        id < 0 ? QStringList() : QFontDatabase::applicationFontFamilies(id);
    if (families.isEmpty())
        throw ReportWriteError(ReportWriteError::Cause::Other,
                               "Cannot write the PDF report: its font (DejaVu Sans, Debian package "
                               "fonts-dejavu-core) is not installed.");
    fontFamily = families.front();
}

// The painter draws in points, so a font's pixel size is its size in points.
QFont fontFor(const TextStyle& style, int scale = 1) {
    QFont font(fontFamily);
    font.setPixelSize(style.size * scale);
    font.setBold(style.bold);
    font.setItalic(style.italic);
    font.setHintingPreference(QFont::PreferNoHinting);
    // No ligatures: "fi" stays two letters, so that a search (and pdftotext) finds "defined".
    font.setStyleStrategy(QFont::PreferNoShaping);
    return font;
}

// Widths are measured on a font 64 times larger: hinted screen metrics at 9 px are off by up
// to half a point a glyph, the PDF's text is not hinted.
constexpr int measureScale = 64;
struct Measure {
    explicit Measure(const TextStyle& style)
        : metrics(fontFor(style, measureScale)), style(style) {}
    double width(const QString& text) const {
        return metrics.horizontalAdvance(text) / measureScale;
    }
    double ascent() const { return metrics.ascent() / measureScale; }
    double lineHeight() const { return style.size * 1.3; }
    QFontMetricsF metrics;
    TextStyle style;
};

// Words that fit a width, one entry a line; a word wider than the width is broken.
QStringList wrap(const QString& text, const TextStyle& style, double width) {
    const Measure measure(style);
    QStringList lines;
    for (const QString& paragraphLine : text.split(QLatin1Char('\n'))) {
        QString line;
        for (QString word : paragraphLine.split(QLatin1Char(' '), Qt::SkipEmptyParts)) {
            const QString candidate = line.isEmpty() ? word : line + QLatin1Char(' ') + word;
            if (measure.width(candidate) <= width) {
                line = candidate;
                continue;
            }
            if (!line.isEmpty())
                lines << line;
            line.clear();
            while (measure.width(word) > width && word.size() > 1) {
                int fit = 1;
                while (fit < word.size() && measure.width(word.left(fit + 1)) <= width)
                    ++fit;
                lines << word.left(fit);
                word = word.mid(fit);
            }
            line = word;
        }
        lines << line;
    }
    return lines;
}

// ---------------------------------------------------------------------------------------------
// Layout: pages of drawing steps, laid out first so that every footer knows the page count.

using Draw = std::function<void(QPainter&)>;

class PageLayout {
  public:
    PageLayout() { pages_.emplace_back(); }

    double y = contentTop;
    double remaining() const { return contentBottom - y; }
    bool atPageTop() const { return y <= contentTop + 0.01; }
    void newPage() {
        pages_.emplace_back();
        y = contentTop;
    }
    // Starts a new page unless the height fits on this one (or this page is still empty).
    void reserve(double height) {
        if (height > remaining() && !atPageTop())
            newPage();
    }
    void add(Draw draw) { pages_.back().push_back(std::move(draw)); }

    void text(double x, double baseline, const QString& line, const TextStyle& style,
              const QColor& color = ink) {
        add([=](QPainter& painter) {
            painter.setFont(fontFor(style));
            painter.setPen(color);
            painter.drawText(QPointF(x, baseline), line);
        });
    }
    // Wrapped lines from the cursor down, across pages when they must.
    void lines(const QStringList& lines, const TextStyle& style, double x = contentLeft,
               const QColor& color = ink) {
        const Measure measure(style);
        for (const QString& line : lines) {
            reserve(measure.lineHeight());
            text(x, y + measure.ascent(), line, style, color);
            y += measure.lineHeight();
        }
    }
    void space(double height) { y = std::min(y + height, contentBottom); }

    const std::vector<std::vector<Draw>>& pages() const { return pages_; }

  private:
    std::vector<std::vector<Draw>> pages_;
};

// ---------------------------------------------------------------------------------------------
// Tables.

std::vector<double> columnWidths(const Table& table) {
    const Measure header(tableHeaderStyle);
    const Measure body(tableStyle);
    const std::size_t count = table.columns.size();
    std::vector<double> natural(count, 0);
    for (std::size_t i = 0; i < count; ++i) {
        for (const QString& line : qt(table.columns[i].heading).split(QLatin1Char('\n')))
            natural[i] = std::max(natural[i], header.width(line));
        for (const auto& row : table.rows)
            if (i < row.size())
                for (const QString& line :
                     qt(row[i].isNumber() ? formatNumber(*row[i].value, row[i].decimals)
                                          : row[i].text)
                         .split(QLatin1Char('\n')))
                    natural[i] = std::max(natural[i], body.width(line));
        natural[i] += 2 * cellPadding + 0.5;
    }
    double total = 0;
    for (double width : natural)
        total += width;
    if (total <= contentWidth)
        return natural;
    // Too wide: narrow columns keep their width, the wide ones share what is left and wrap.
    const double fairShare = contentWidth / static_cast<double>(count);
    double narrowTotal = 0, wideTotal = 0;
    for (double width : natural)
        (width <= fairShare ? narrowTotal : wideTotal) += width;
    std::vector<double> widths = natural;
    for (double& width : widths)
        if (width > fairShare)
            width = width / wideTotal * (contentWidth - narrowTotal);
    return widths;
}

struct LaidOutRow {
    std::vector<QStringList> cells;
    double height = 0;
};

LaidOutRow layOutRow(const std::vector<QString>& texts, const std::vector<double>& widths,
                     const TextStyle& style) {
    LaidOutRow row;
    int lines = 1;
    for (std::size_t i = 0; i < widths.size(); ++i) {
        const QString text = i < texts.size() ? texts[i] : QString();
        row.cells.push_back(wrap(text, style, widths[i] - 2 * cellPadding));
        lines = std::max(lines, static_cast<int>(row.cells.back().size()));
    }
    row.height = lines * Measure(style).lineHeight() + 2 * cellPadding - 2;
    return row;
}

void drawRow(PageLayout& layout, const LaidOutRow& row, const std::vector<double>& widths,
             const std::vector<Column>& columns, const TextStyle& style, bool header) {
    const double top = layout.y;
    const double height = row.height;
    double tableWidth = 0;
    for (double width : widths)
        tableWidth += width;
    if (header)
        layout.add([=](QPainter& painter) {
            painter.fillRect(QRectF(contentLeft, top, tableWidth, height), headerFill);
        });
    layout.add([=](QPainter& painter) {
        painter.setPen(QPen(rule, header ? 0.8 : 0.4));
        painter.drawLine(QPointF(contentLeft, top + height),
                         QPointF(contentLeft + tableWidth, top + height));
    });
    const Measure measure(style);
    double x = contentLeft;
    for (std::size_t i = 0; i < widths.size(); ++i) {
        double baseline = top + cellPadding - 1 + measure.ascent();
        for (const QString& line : row.cells[i]) {
            double lineX = x + cellPadding;
            const double free = widths[i] - 2 * cellPadding - measure.width(line);
            if (columns[i].align == Align::Right)
                lineX += std::max(0.0, free);
            else if (columns[i].align == Align::Center)
                lineX += std::max(0.0, free / 2);
            layout.text(lineX, baseline, line, style);
            baseline += measure.lineHeight();
        }
        x += widths[i];
    }
    layout.y += height;
}

void layOutTable(PageLayout& layout, const Table& table) {
    if (table.columns.empty())
        return;
    const std::vector<double> widths = columnWidths(table);
    std::vector<QString> headings;
    for (const Column& column : table.columns)
        headings.push_back(qt(column.heading));
    const LaidOutRow header = layOutRow(headings, widths, tableHeaderStyle);
    const QStringList caption =
        table.caption.empty() ? QStringList() : wrap(qt(table.caption), captionStyle, contentWidth);
    const double captionHeight = caption.size() * Measure(captionStyle).lineHeight();

    std::vector<LaidOutRow> rows;
    for (const auto& cells : table.rows) {
        std::vector<QString> texts;
        for (const Cell& cell : cells)
            texts.push_back(
                qt(cell.isNumber() ? formatNumber(*cell.value, cell.decimals) : cell.text));
        rows.push_back(layOutRow(texts, widths, tableStyle));
    }
    // The caption, the header and the first row stay together.
    layout.reserve(captionHeight + header.height + (rows.empty() ? 0 : rows.front().height) + 4);
    layout.lines(caption, captionStyle);
    layout.space(2);
    drawRow(layout, header, widths, table.columns, tableHeaderStyle, true);
    for (const LaidOutRow& row : rows) {
        if (row.height > layout.remaining()) {
            layout.newPage();
            if (!table.caption.empty())
                layout.lines({qt(table.caption) + QStringLiteral(" (continued)")}, captionStyle);
            layout.space(2);
            drawRow(layout, header, widths, table.columns, tableHeaderStyle, true);
        }
        drawRow(layout, row, widths, table.columns, tableStyle, false);
    }
    if (table.hasUndefinedNumber()) {
        layout.space(3);
        layout.lines(wrap(qt(table.undefinedNote), noteStyle, contentWidth), noteStyle, contentLeft,
                     grey);
    }
}

// ---------------------------------------------------------------------------------------------
// Plots: a value axis with round ticks, one slot per category.

struct ValueScale {
    double low = 0, high = 1, step = 0.2;
    int decimals = 1;
};

double roundStep(double rough) {
    const double power = std::pow(10.0, std::floor(std::log10(rough)));
    const double fraction = rough / power;
    const double nice = fraction <= 1     ? 1
                        : fraction <= 2   ? 2
                        : fraction <= 2.5 ? 2.5
                        : fraction <= 5   ? 5
                                          : 10;
    return nice * power;
}

ValueScale valueScale(const Axis& axis, double dataLow, double dataHigh) {
    double low = axis.minimum.value_or(dataLow);
    double high = axis.maximum.value_or(dataHigh);
    if (!std::isfinite(low) || !std::isfinite(high)) {
        low = 0;
        high = 1;
    }
    if (high <= low) {
        const double half = low == 0 ? 0.5 : std::abs(low) * 0.1;
        low -= half;
        high += half;
    }
    ValueScale scale;
    scale.step = roundStep((high - low) / 5);
    scale.low = axis.minimum ? low : std::floor(low / scale.step + 1e-9) * scale.step;
    scale.high = axis.maximum ? high : std::ceil(high / scale.step - 1e-9) * scale.step;
    scale.decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(scale.step) - 1e-9)));
    if (std::abs(scale.step * std::pow(10.0, scale.decimals) -
                 std::round(scale.step * std::pow(10.0, scale.decimals))) > 1e-6)
        ++scale.decimals; // 2.5, 0.25
    return scale;
}

// Multiples of the step inside the range (a given minimum such as 0.05 is not a tick).
std::vector<double> ticks(const ValueScale& scale) {
    std::vector<double> values;
    const auto first = static_cast<long>(std::ceil(scale.low / scale.step - 1e-6));
    for (long k = first; k * scale.step <= scale.high + scale.step * 1e-6 && values.size() < 50;
         ++k)
        values.push_back(k == 0 ? 0.0 : static_cast<double>(k) * scale.step);
    return values;
}

struct PlotFrame {
    QRectF area; // where values are drawn
    ValueScale scale;
    double y(double value) const {
        return area.bottom() - (value - scale.low) / (scale.high - scale.low) * area.height();
    }
};

constexpr double plotHeight = 250;
// A plot and two lines of its caption share a page.
double plotWithCaptionHeight() {
    return plotHeight + 2 + 2 * Measure(captionStyle).lineHeight();
}

// The title, the value axis with ticks and grid, the axis titles; returns the drawing area.
PlotFrame layOutAxes(PageLayout& layout, const std::string& title, const Axis& axis,
                     const std::string& categoryLabel, const ValueScale& scale, int categoryLines) {
    const double top = layout.y;
    const Measure titleMeasure(tableHeaderStyle);
    const Measure small(smallStyle);
    layout.text(contentLeft, top + titleMeasure.ascent(), qt(title), tableHeaderStyle);

    double tickWidth = 0;
    const std::vector<double> tickValues = ticks(scale);
    for (double value : tickValues)
        tickWidth = std::max(tickWidth, small.width(qt(formatNumber(value, scale.decimals))));
    const double left = contentLeft + 14 + tickWidth + 6;
    const double bottomSpace = categoryLines * small.lineHeight() + 6 + small.lineHeight() + 4;
    PlotFrame frame;
    frame.scale = scale;
    frame.area = QRectF(left, top + 22, contentLeft + contentWidth - left - 4,
                        plotHeight - 22 - bottomSpace);

    for (double value : tickValues) {
        const double y = frame.y(value);
        const QString label = qt(formatNumber(value, scale.decimals));
        const QRectF area = frame.area;
        layout.add([=](QPainter& painter) {
            painter.setPen(QPen(QColor(0xe0, 0xe0, 0xe0), 0.4));
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y));
            painter.setPen(QPen(ink, 0.6));
            painter.drawLine(QPointF(area.left() - 3, y), QPointF(area.left(), y));
        });
        layout.text(left - 5 - small.width(label), y + small.ascent() / 2 - 0.5, label, smallStyle);
    }
    const QRectF area = frame.area;
    layout.add([=](QPainter& painter) {
        painter.setPen(QPen(ink, 0.8));
        painter.drawLine(area.bottomLeft(), area.topLeft());
        painter.drawLine(area.bottomLeft(), area.bottomRight());
    });
    // The value axis title, turned to read upwards.
    const QString valueTitle = qt(axis.title());
    const double valueTitleWidth = small.width(valueTitle);
    layout.add([=](QPainter& painter) {
        painter.save();
        painter.translate(contentLeft + small.ascent(), area.center().y() + valueTitleWidth / 2);
        painter.rotate(-90);
        painter.setFont(fontFor(smallStyle));
        painter.setPen(ink);
        painter.drawText(QPointF(0, 0), valueTitle);
        painter.restore();
    });
    const QString categoryTitle = qt(categoryLabel);
    layout.text(area.center().x() - small.width(categoryTitle) / 2,
                top + plotHeight - 4 - small.lineHeight() + small.ascent(), categoryTitle,
                smallStyle);
    return frame;
}

// A category's name (and count) under its slot, shrunk to the slot.
void layOutCategoryLabels(PageLayout& layout, const PlotFrame& frame, double centre,
                          double slotWidth, const QStringList& lines) {
    const Measure small(smallStyle);
    double baseline = frame.area.bottom() + 4 + small.ascent();
    for (QString line : lines) {
        if (small.width(line) > slotWidth - 2)
            line = small.metrics.elidedText(line, Qt::ElideRight, (slotWidth - 2) * measureScale);
        layout.text(centre - small.width(line) / 2, baseline, line, smallStyle);
        baseline += small.lineHeight();
    }
}

void layOutCaption(PageLayout& layout, const std::string& caption) {
    if (caption.empty())
        return;
    layout.space(2);
    layout.lines(wrap(qt(caption), captionStyle, contentWidth), captionStyle);
}

void layOutStripPlot(PageLayout& layout, const StripPlot& plot) {
    layout.reserve(plotWithCaptionHeight());
    double low = INFINITY, high = -INFINITY;
    for (const auto& category : plot.categories)
        for (double value : category.values)
            if (std::isfinite(value)) {
                low = std::min(low, value);
                high = std::max(high, value);
            }
    const PlotFrame frame = layOutAxes(layout, plot.title, plot.valueAxis, plot.categoryLabel,
                                       valueScale(plot.valueAxis, low, high), 2);
    const std::size_t count = std::max<std::size_t>(plot.categories.size(), 1);
    const double slot = frame.area.width() / static_cast<double>(count);
    const double boxWidth = std::min(slot * 0.5, 60.0);
    for (std::size_t c = 0; c < plot.categories.size(); ++c) {
        const auto& category = plot.categories[c];
        const double centre = frame.area.left() + slot * (static_cast<double>(c) + 0.5);
        const auto q = quartiles(category.values);
        const auto clampY = [&](double value) {
            return std::clamp(frame.y(value), frame.area.top(), frame.area.bottom());
        };
        if (q) {
            const QRectF box(centre - boxWidth / 2, clampY(q->third), boxWidth,
                             clampY(q->first) - clampY(q->third));
            const double median = clampY(q->median);
            layout.add([=](QPainter& painter) {
                painter.setPen(QPen(plotBlue, 0.8));
                painter.setBrush(boxFill);
                painter.drawRect(box);
                painter.setPen(QPen(plotBlue, 2.2));
                painter.drawLine(QPointF(box.left(), median), QPointF(box.right(), median));
            });
        }
        // One dot a value, spread sideways by the golden ratio: no random jitter, same picture
        // every time.
        std::vector<QPointF> dots;
        for (std::size_t i = 0; i < category.values.size(); ++i) {
            const double value = category.values[i];
            if (!std::isfinite(value) || value < frame.scale.low || value > frame.scale.high)
                continue;
            const double spread = std::fmod(static_cast<double>(i) * 0.6180339887, 1.0) - 0.5;
            dots.emplace_back(centre + spread * boxWidth * 0.8, frame.y(value));
        }
        layout.add([=](QPainter& painter) {
            painter.setPen(QPen(Qt::white, 0.5));
            painter.setBrush(ink);
            for (const QPointF& dot : dots)
                painter.drawEllipse(dot, 2.6, 2.6);
        });
        const std::size_t defined = q ? q->count : 0;
        QString countLine =
            defined == 1 ? QStringLiteral("1 value") : QStringLiteral("%1 values").arg(defined);
        const std::size_t undefined = q ? q->undefined : category.values.size();
        if (undefined > 0)
            countLine += QStringLiteral(", %1 not defined").arg(undefined);
        layOutCategoryLabels(layout, frame, centre, slot, {qt(category.name), countLine});
    }
    layout.y += plotHeight;
    layOutCaption(layout, plot.caption);
}

void layOutBarChart(PageLayout& layout, const BarChart& chart) {
    layout.reserve(plotWithCaptionHeight());
    double low = 0, high = 0;
    for (const auto& bar : chart.bars)
        if (std::isfinite(bar.value)) {
            low = std::min(low, bar.value);
            high = std::max(high, bar.value);
        }
    const PlotFrame frame = layOutAxes(layout, chart.title, chart.valueAxis, chart.categoryLabel,
                                       valueScale(chart.valueAxis, low, high), 1);
    const Measure small(smallStyle);
    const std::size_t count = std::max<std::size_t>(chart.bars.size(), 1);
    const double slot = frame.area.width() / static_cast<double>(count);
    const double barWidth = std::min(slot * 0.6, 50.0);
    const double zero = std::clamp(frame.y(0), frame.area.top(), frame.area.bottom());
    for (std::size_t b = 0; b < chart.bars.size(); ++b) {
        const auto& bar = chart.bars[b];
        const double centre = frame.area.left() + slot * (static_cast<double>(b) + 0.5);
        QString label = QStringLiteral("not defined");
        double labelY = zero - 3;
        if (std::isfinite(bar.value)) {
            const double top =
                std::clamp(frame.y(bar.value), frame.area.top(), frame.area.bottom());
            const QRectF rect(centre - barWidth / 2, std::min(top, zero), barWidth,
                              std::abs(zero - top));
            layout.add([=](QPainter& painter) { painter.fillRect(rect, barFill); });
            label = qt(formatNumber(bar.value, chart.valueAxis.decimals));
            labelY = bar.value >= 0 ? rect.top() - 3 : rect.bottom() + 3 + small.ascent();
        }
        layout.text(centre - small.width(label) / 2, labelY, label, smallStyle);
        layOutCategoryLabels(layout, frame, centre, slot, {qt(bar.name)});
    }
    layout.y += plotHeight;
    layOutCaption(layout, chart.caption);
}

// ---------------------------------------------------------------------------------------------
// The document.

// The height of a block's start that must share a page with the heading above it.
double startHeight(const Block& block) {
    if (std::holds_alternative<StripPlot>(block) || std::holds_alternative<BarChart>(block))
        return plotWithCaptionHeight();
    const double line = Measure(bodyStyle).lineHeight();
    return std::holds_alternative<Table>(block) ? 4 * line + 2 * cellPadding : 3 * line;
}

PageLayout layOut(const Report& report) {
    PageLayout layout;
    layout.lines(wrap(qt(report.title), titleStyle, contentWidth), titleStyle);
    layout.space(4);
    const Measure bold(tableHeaderStyle);
    for (const MetadataLine& line : report.metadata) {
        const QString name = qt(line.name) + QStringLiteral(": ");
        const double indent = std::min(bold.width(name), contentWidth / 3);
        layout.reserve(Measure(tableStyle).lineHeight());
        layout.text(contentLeft, layout.y + bold.ascent(), name, tableHeaderStyle);
        layout.lines(wrap(qt(line.value), tableStyle, contentWidth - indent), tableStyle,
                     contentLeft + indent);
    }
    for (const Section& section : report.sections) {
        layout.space(12);
        // A heading never ends a page: it stays with the start of what it heads.
        layout.reserve(Measure(headingStyle).lineHeight() + 4 +
                       (section.blocks.empty() ? 0 : startHeight(section.blocks.front())));
        layout.lines(wrap(qt(section.heading), headingStyle, contentWidth), headingStyle);
        layout.space(4);
        for (const Block& block : section.blocks) {
            if (const auto* paragraph = std::get_if<Paragraph>(&block))
                layout.lines(wrap(qt(paragraph->text), bodyStyle, contentWidth), bodyStyle);
            else if (const auto* table = std::get_if<Table>(&block))
                layOutTable(layout, *table);
            else if (const auto* plot = std::get_if<StripPlot>(&block))
                layOutStripPlot(layout, *plot);
            else if (const auto* chart = std::get_if<BarChart>(&block))
                layOutBarChart(layout, *chart);
            layout.space(8);
        }
    }
    return layout;
}

void drawFooter(QPainter& painter, const QString& title, std::size_t page, std::size_t pages) {
    const Measure small(smallStyle);
    const double baseline = pageHeight - margin + small.ascent();
    painter.setPen(QPen(rule, 0.4));
    painter.drawLine(QPointF(contentLeft, baseline - small.ascent() - 4),
                     QPointF(contentLeft + contentWidth, baseline - small.ascent() - 4));
    painter.setFont(fontFor(smallStyle));
    painter.setPen(grey);
    const QString pageText = QStringLiteral("page %1 of %2").arg(page).arg(pages);
    const double pageTextWidth = small.width(pageText);
    const QString shownTitle = small.metrics.elidedText(
        title, Qt::ElideRight, (contentWidth - pageTextWidth - 12) * measureScale);
    painter.drawText(QPointF(contentLeft, baseline), shownTitle);
    painter.drawText(QPointF(contentLeft + contentWidth - pageTextWidth, baseline), pageText);
}

// "D:YYYYMMDDHHmmSSZ", the PDF date format, in UTC.
std::string pdfDate(std::chrono::sys_seconds time) {
    const auto day = std::chrono::floor<std::chrono::days>(time);
    const std::chrono::year_month_day date(day);
    const std::chrono::hh_mm_ss clock(time - day);
    char text[32];
    std::snprintf(text, sizeof text, "D:%04d%02u%02u%02d%02d%02dZ", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(clock.hours().count()),
                  static_cast<int>(clock.minutes().count()),
                  static_cast<int>(clock.seconds().count()));
    return text;
}

// Replaces the creation date Qt wrote (its clock, local time) and moves every object after it
// in the cross-reference table by the change in length.
void setCreationDate(std::string& pdf, std::chrono::sys_seconds time) {
    const auto broken = [] {
        return std::runtime_error("The PDF writer of this Qt version wrote a file layout Radmark "
                                  "does not know; the report's date cannot be set.");
    };
    const std::string key = "/CreationDate (";
    const std::size_t keyAt = pdf.find(key);
    if (keyAt == std::string::npos)
        throw broken();
    const std::size_t start = keyAt + key.size();
    const std::size_t end = pdf.find(')', start);
    const std::size_t xref = pdf.rfind("\nxref\n");
    const std::size_t startxref = pdf.rfind("startxref\n");
    if (end == std::string::npos || xref == std::string::npos || startxref == std::string::npos ||
        xref < end || startxref < xref)
        throw broken();
    const std::string date = pdfDate(time);
    const long delta = static_cast<long>(date.size()) - static_cast<long>(end - start);
    pdf.replace(start, end - start, date);

    // "xref\n0 N\n" then N entries of 20 bytes: "oooooooooo ggggg n \n".
    std::size_t at = xref + static_cast<std::size_t>(delta) + 6;
    std::size_t first = 0, count = 0;
    int consumed = 0;
    if (std::sscanf(pdf.c_str() + at, "%zu %zu\n%n", &first, &count, &consumed) != 2)
        throw broken();
    at += static_cast<std::size_t>(consumed);
    for (std::size_t i = 0; i < count; ++i, at += 20) {
        if (at + 20 > pdf.size() || pdf[at + 17] != 'n')
            continue; // the free entry
        const long offset = std::strtol(pdf.c_str() + at, nullptr, 10);
        if (offset > static_cast<long>(start)) {
            char moved[11];
            std::snprintf(moved, sizeof moved, "%010ld", offset + delta);
            pdf.replace(at, 10, moved);
        }
    }
    const std::size_t numberAt = pdf.rfind("startxref\n") + 10;
    const std::size_t numberEnd = pdf.find_first_not_of("0123456789", numberAt);
    const long xrefOffset = std::strtol(pdf.c_str() + numberAt, nullptr, 10);
    pdf.replace(numberAt, numberEnd - numberAt, std::to_string(xrefOffset + delta));
}

} // namespace

void ensureGuiApplication() {
    if (QCoreApplication* existing = QCoreApplication::instance()) {
        if (!qobject_cast<QGuiApplication*>(existing))
            throw std::logic_error("A PDF report needs a QGuiApplication; this program made a "
                                   "QCoreApplication, which cannot draw text.");
        return;
    }
    static int argc = 3;
    static char name[] = "radmark-report";
    static char platformOption[] = "-platform";
    static char platform[] = "offscreen";
    static char* argv[] = {name, platformOption, platform, nullptr};
    previousHandler = qInstallMessageHandler(quietStartup);
    ownApplication = new QGuiApplication(argc, argv);
    qInstallMessageHandler(previousHandler);
    previousHandler = nullptr;
}

std::string renderPdf(const Report& report, const PdfOptions& options) {
    ensureGuiApplication();
    loadFonts();
    const PageLayout layout = layOut(report);

    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    {
        QPdfWriter writer(&buffer);
        writer.setTitle(qt(report.title));
        writer.setCreator(qt(options.creator));
        writer.setResolution(resolution);
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Portrait,
                                         QMarginsF(0, 0, 0, 0), QPageLayout::Point));
        QPainter painter;
        if (!painter.begin(&writer))
            throw ReportWriteError(ReportWriteError::Cause::Other,
                                   "Cannot write the PDF report: Qt's PDF writer did not start.");
        painter.setRenderHint(QPainter::Antialiasing);
        const double scale = resolution / 72.0;
        const auto& pages = layout.pages();
        for (std::size_t page = 0; page < pages.size(); ++page) {
            if (page > 0)
                writer.newPage();
            painter.resetTransform();
            painter.scale(scale, scale);
            for (const Draw& draw : pages[page])
                draw(painter);
            drawFooter(painter, qt(report.title), page + 1, pages.size());
        }
        painter.end();
    }
    std::string pdf = buffer.data().toStdString();
    setCreationDate(pdf, options.creationDate.value_or(std::chrono::floor<std::chrono::seconds>(
                             std::chrono::system_clock::now())));
    return pdf;
}

void writePdf(const Report& report, const std::filesystem::path& target,
              const PdfOptions& options) {
    writeFileAtomically(target, renderPdf(report, options));
}

} // namespace radmark::report
