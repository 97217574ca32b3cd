#pragma once
// The report as text: Markdown for people (GitHub-flavoured tables) and CSV for programs (one
// table, RFC 4180). Same model, same bytes: no locale, no clock, no hash order.

#include "report/Report.h"

#include <string>

namespace radmark::report {

// A number with a fixed number of decimals and '.' whatever the locale ("-0.000" is "0.000");
// an empty string for NaN and infinity.
std::string formatNumber(double value, int decimals);

// The whole report: "# title", metadata lines, "## section" headings, paragraphs, tables with
// their alignment row, caption and undefined-value note, and each plot as its caption and a
// table of what it shows (per category: n, first quartile, median, third quartile; or the bar
// values), since Markdown has no pictures of its own.
std::string writeMarkdown(const Report& report);

// One table: the header row, then each row; a field is quoted when it holds a comma, a quote,
// CR or LF (quotes doubled); lines end in CRLF as RFC 4180 says; an undefined number is an
// empty field.
std::string writeCsv(const Table& table);

// The table a plot's numbers are written as in Markdown (and available to CSV exports).
Table summaryTable(const StripPlot& plot);
Table summaryTable(const BarChart& chart);

} // namespace radmark::report
