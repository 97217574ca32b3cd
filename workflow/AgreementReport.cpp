#include "workflow/AgreementReport.h"

#include "annotation/AgreementJson.h"
#include "storage/Errors.h"
#include "storage/Reviews.h"
#include "storage/Store.h"
#include "workflow/Review.h"

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

namespace radmark::workflow {

namespace {

report::Cell number(double value, int decimals) {
    return report::Cell::number(value, decimals);
}

void addRows(AgreementSummary& summary, const std::string& study, const std::string& kind,
             const ReviewVersion& a, const ReviewVersion& b,
             const annotation::AgreementReport& metrics) {
    for (const annotation::SegmentAgreement& segment : metrics.segments)
        summary.rows.push_back({study, segment.name, kind, a.author, b.author, a.annotationId,
                                b.annotationId, segment});
}

} // namespace

AgreementSummary reviewersAgreement(storage::Session& session, std::optional<std::int64_t> studyId,
                                    double toleranceMm) {
    if (session.role() != storage::Role::Reviewer) {
        const std::string reason = "the agreement report is for reviewers";
        session.recordAccess("refused agreement report", "", reason);
        throw storage::PermissionDeniedError(reason);
    }
    return measureAgreement(session, studyId, toleranceMm);
}

AgreementSummary measureAgreement(storage::Session& session, std::optional<std::int64_t> studyId,
                                  double toleranceMm) {
    AgreementSummary summary;
    summary.toleranceMm = toleranceMm;
    std::set<std::int64_t> measuredStudies; // a blind study has a worklist row per annotator
    for (const WorklistRow& row : worklist(session)) {
        if ((studyId && row.studyId != *studyId) || !measuredStudies.insert(row.studyId).second)
            continue;
        ReviewSession review(session, row.studyId);
        std::map<std::string, ReviewVersion> newest; // per annotator, manual versions
        std::optional<ReviewVersion> approved, consensus;
        for (const ReviewVersion& v : review.versions()) {
            if (v.consensus)
                consensus = v;
            else
                newest[v.author] = v;
            if (v.state == storage::ReviewState::Approved)
                approved = v;
        }
        const std::optional<ReviewVersion> reference = approved ? approved : consensus;
        std::vector<ReviewVersion> annotators;
        for (const auto& [author, v] : newest)
            annotators.push_back(v);
        bool measured = false;
        for (std::size_t i = 0; i < annotators.size(); ++i)
            for (std::size_t j = i + 1; j < annotators.size(); ++j) {
                const Comparison c = review.compare(annotators[i].annotationId,
                                                    annotators[j].annotationId, toleranceMm);
                addRows(summary, row.pseudonym, "pair", annotators[i], annotators[j], c.metrics);
                measured = true;
            }
        if (reference) {
            const std::string kind = approved ? "vs approved" : "vs consensus";
            for (const ReviewVersion& v : annotators) {
                if (v.annotationId == reference->annotationId)
                    continue;
                const Comparison c =
                    review.compare(reference->annotationId, v.annotationId, toleranceMm);
                addRows(summary, row.pseudonym, kind, v, *reference, c.metrics);
                measured = true;
            }
        }
        if (!measured)
            summary.studiesWithoutPairs.push_back(row.pseudonym);
    }
    return summary;
}

using nlohmann::json;

nlohmann::json agreementSummaryJson(const AgreementSummary& summary) {
    json rows = json::array();
    for (const AgreementRow& r : summary.rows)
        rows.push_back({{"study", r.study},
                        {"segment", r.segment},
                        {"kind", r.kind},
                        {"first", r.first},
                        {"second", r.second},
                        {"firstVersion", r.firstVersion},
                        {"secondVersion", r.secondVersion},
                        {"metrics", annotation::segmentAgreementJson(r.metrics)}});
    return {{"rows", std::move(rows)},
            {"studiesWithoutPairs", summary.studiesWithoutPairs},
            {"toleranceMm", summary.toleranceMm}};
}

AgreementSummary agreementSummaryFromJson(const nlohmann::json& in) {
    AgreementSummary summary;
    try {
        for (const json& r : in.at("rows").get_ref<const json::array_t&>())
            summary.rows.push_back(
                {r.at("study").get<std::string>(), r.at("segment").get<std::string>(),
                 r.at("kind").get<std::string>(), r.at("first").get<std::string>(),
                 r.at("second").get<std::string>(), r.at("firstVersion").get<std::int64_t>(),
                 r.at("secondVersion").get<std::int64_t>(),
                 annotation::segmentAgreementFromJson(r.at("metrics"))});
        summary.studiesWithoutPairs = in.at("studiesWithoutPairs").get<std::vector<std::string>>();
        summary.toleranceMm = in.at("toleranceMm").get<double>();
    } catch (const json::exception&) {
        throw std::runtime_error("the agreement summary is not readable");
    }
    return summary;
}

report::Table agreementTable(const AgreementSummary& summary) {
    report::Table table;
    using report::Align;
    table.columns = {{"Study"},
                     {"Segment"},
                     {"Comparison"},
                     {"First"},
                     {"Second"},
                     {"Dice", Align::Right},
                     {"Jaccard", Align::Right},
                     {"Volume 1 (mL)", Align::Right},
                     {"Volume 2 (mL)", Align::Right},
                     {"Hausdorff (mm)", Align::Right},
                     {"HD95 (mm)", Align::Right},
                     {"ASSD (mm)", Align::Right},
                     {"Surface Dice", Align::Right}};
    for (const AgreementRow& r : summary.rows) {
        const annotation::OverlapMeasures& o = r.metrics.overlap;
        const annotation::SurfaceDistances& d = r.metrics.distances;
        // The second side of a "vs" row is the reference: its volume is the reference volume.
        table.rows.push_back({r.study, r.segment, r.kind, r.first, r.second, number(o.dice, 4),
                              number(o.jaccard, 4), number(o.volumeComparedMl, 2),
                              number(o.volumeReferenceMl, 2), number(d.hausdorffMm, 2),
                              number(d.hd95Mm, 2), number(d.assdMm, 2), number(d.surfaceDice, 4)});
    }
    table.caption = "Agreement per study and segment (surface Dice at " +
                    std::to_string(summary.toleranceMm).substr(0, 4) + " mm)";
    table.undefinedNote = "An empty cell is a distance that is not defined: one side of the pair "
                          "has no voxels of that segment.";
    return table;
}

report::Report agreementReport(const AgreementSummary& summary, const std::string& generatedUtc) {
    report::Report out;
    out.title = "Radmark agreement report";
    out.metadata = {{"Generated", generatedUtc},
                    {"Comparisons", std::to_string(summary.rows.size()) + " segment rows"}};
    report::StripPlot perSegment{"Dice between annotators, per segment",
                                 "Segment",
                                 report::Axis{"Dice", "ratio", 0.0, 1.0, 3},
                                 {},
                                 {}};
    report::StripPlot perAnnotator{"Dice against the reference, per annotator",
                                   "Annotator",
                                   report::Axis{"Dice", "ratio", 0.0, 1.0, 3},
                                   {},
                                   {}};
    report::StripPlot hd95{"HD95 between annotators, per segment",
                           "Segment",
                           report::Axis{"HD95", "mm", std::nullopt, std::nullopt, 2},
                           {},
                           {}};
    const auto add = [](report::StripPlot& plot, const std::string& name, double value) {
        for (auto& c : plot.categories)
            if (c.name == name) {
                c.values.push_back(value);
                return;
            }
        plot.categories.push_back({name, {value}});
    };
    for (const AgreementRow& r : summary.rows) {
        if (r.kind == "pair") {
            add(perSegment, r.segment, r.metrics.overlap.dice);
            add(hd95, r.segment, r.metrics.distances.hd95Mm);
        } else {
            add(perAnnotator, r.first, r.metrics.overlap.dice);
        }
    }
    perSegment.caption = "One dot per pair of annotators and study; box: quartiles and median.";
    perAnnotator.caption = "One dot per study and segment against its approved (else consensus) "
                           "version.";
    hd95.caption = "One dot per pair of annotators, study and segment.";
    report::Section across{"Across the store", {}};
    if (!perSegment.categories.empty()) {
        across.blocks.push_back(perSegment);
        across.blocks.push_back(hd95);
    }
    if (!perAnnotator.categories.empty())
        across.blocks.push_back(perAnnotator);
    if (across.blocks.empty())
        across.blocks.push_back(report::Paragraph{
            "No study has two annotators or a reference version to compare with yet."});
    out.sections.push_back(std::move(across));
    out.sections.push_back({"Per study and segment", {agreementTable(summary)}});
    if (!summary.studiesWithoutPairs.empty()) {
        std::string list;
        for (const std::string& s : summary.studiesWithoutPairs)
            list += (list.empty() ? "" : ", ") + s;
        out.sections.back().blocks.push_back(
            report::Paragraph{"Not compared (one annotator and no reference): " + list + "."});
    }
    report::Section definitions{"Definitions", {}};
    std::string text;
    for (const annotation::MetricDefinition& d : annotation::agreementDefinitions())
        text += std::string(d.key) + (d.unit.empty() ? "" : " (" + std::string(d.unit) + ")") +
                ": " + std::string(d.definition) + "\n";
    definitions.blocks.push_back(report::Paragraph{text});
    out.sections.push_back(std::move(definitions));
    return out;
}

} // namespace radmark::workflow
