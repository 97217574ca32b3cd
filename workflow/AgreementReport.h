#pragma once
// How far annotators agree, per study and segment: every pair of annotators (each one's newest
// version of the study) and each annotator against the study's reference (its newest approved
// version, else its newest consensus), and across the store the distribution per segment and
// per annotator. One report model (report/) gives the CSV, the Markdown and the PDF; the
// workstation shows the same rows (through the store service as JSON).

#include "annotation/Agreement.h"
#include "report/Report.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace radmark::storage {
class Session;
}

namespace radmark::workflow {

struct AgreementRow {
    std::string study;         // pseudonym
    std::string segment;       // the reference side's segment name
    std::string kind;          // "pair", or "vs approved" / "vs consensus"
    std::string first, second; // authors (for "vs ...": the annotator, then the reference's)
    std::int64_t firstVersion = 0, secondVersion = 0;
    annotation::SegmentAgreement metrics;
};

struct AgreementSummary {
    std::vector<AgreementRow> rows;
    std::vector<std::string> studiesWithoutPairs; // fewer than two annotators and no reference
    double toleranceMm = 1;
};

// Every study she may review, or one. Opening each version is logged as for any review (an
// export measures each case's agreement so, as the admin).
AgreementSummary measureAgreement(storage::Session& session,
                                  std::optional<std::int64_t> studyId = std::nullopt,
                                  double toleranceMm = 1.0);

// The agreement report (Review > Agreement report, `review agreement`, the store service's
// agreement): measureAgreement for a reviewer. Anyone else is refused (PermissionDeniedError)
// and logged as "refused agreement report": an admin's reading of every version would be logged
// as reads for export, an annotator's would cover only what she may read anyway.
AgreementSummary reviewersAgreement(storage::Session& session,
                                    std::optional<std::int64_t> studyId = std::nullopt,
                                    double toleranceMm = 1.0);

// The summary as a JSON value, every field (what the store service's session sends the
// workstation); infinities (a distance to an empty side) as null. The reader throws
// std::runtime_error for a value that is not such a summary.
nlohmann::json agreementSummaryJson(const AgreementSummary& summary);
AgreementSummary agreementSummaryFromJson(const nlohmann::json& summary);

report::Table agreementTable(const AgreementSummary& summary);
report::Report agreementReport(const AgreementSummary& summary, const std::string& generatedUtc);

} // namespace radmark::workflow
