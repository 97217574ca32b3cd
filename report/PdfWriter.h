#pragma once
// The report as a PDF: A4, text that a PDF reader (and pdftotext) can select and search, tables
// that break across pages with their header repeated, plots drawn as vectors, "page N of M".
// The header is Qt-free; the writer draws with QtGui's QPdfWriter and QPainter, which run without
// a display (the offscreen platform), so radmark-cli writes PDFs on a headless machine.

#include "report/AtomicFile.h"
#include "report/Report.h"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace radmark::report {

struct PdfOptions {
    // The PDF's creation date (UTC, whole seconds); now when empty. Qt 6.4's QPdfWriter cannot
    // set it, so the writer rewrites the date in the document information dictionary and fixes
    // the cross-reference table: the same report with the same date gives the same bytes.
    std::optional<std::chrono::sys_seconds> creationDate;
    std::string creator = "Radmark";
};

// Makes sure a QGuiApplication exists, which QPdfWriter's fonts need. A program that has one
// (the workstation) keeps it; otherwise one is created on the "offscreen" platform, whatever
// QT_QPA_PLATFORM and DISPLAY say, and lives until the program exits. Call it from the main
// thread; writePdf calls it. Throws std::logic_error when the program made a QCoreApplication,
// which cannot draw text.
void ensureGuiApplication();

// The PDF's bytes (for a bundle that hashes and writes them itself).
std::string renderPdf(const Report& report, const PdfOptions& options = {});

// Writes the PDF atomically (see writeFileAtomically): complete or not at all. Throws
// ReportWriteError (folder missing, not writable, disk full).
void writePdf(const Report& report, const std::filesystem::path& target,
              const PdfOptions& options = {});

} // namespace radmark::report
