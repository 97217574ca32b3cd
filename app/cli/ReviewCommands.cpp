// radmark-cli studies and review ...: the worklist, submitting, comparing, comments, decisions,
// consensus and the agreement report, through the same workflow calls as the workstation.
// VERSION is a version's number (as `studies` and `review queue` print it) or 6+ hex digits of
// its hash.

#include "app/cli/Command.h"
#include "app/cli/StoreAccessArguments.h"
#include "app/cli/StoreSession.h"
#include "report/AtomicFile.h"
#include "report/PdfWriter.h"
#include "report/TextWriters.h"
#include "storage/AuditLog.h"
#include "storage/Reviews.h"
#include "storage/Studies.h"
#include "workflow/AgreementReport.h"
#include "workflow/Review.h"

#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace radmark::cli {
namespace {

using storage::Reviews;
using workflow::ReviewSession;
using workflow::ReviewVersion;
using workflow::WorklistRow;

std::string stateText(storage::ReviewState state) {
    return std::string(storage::reviewStateName(state));
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items)
        out += (out.empty() ? "" : ",") + s;
    return out.empty() ? "-" : out;
}

// One tab-separated line per row, with a header: easy to read and to cut.
void printRows(std::ostream& out, const std::vector<WorklistRow>& rows, bool queue) {
    out << (queue ? "study\tmodality\tdescription\tannotator\tversion\thash\tsaved\tstate\topen "
                    "comments\n"
                  : "study\tmodality\tdescription\tannotators\tversion\thash\tauthor\tsaved\tstate"
                    "\topen comments\n");
    for (const WorklistRow& r : rows) {
        out << r.pseudonym << "\t" << (r.modality.empty() ? "-" : r.modality) << "\t"
            << (r.description.empty() ? "-" : r.description) << "\t"
            << (queue ? r.annotator
                      : join(r.annotators) +
                            (r.annotator.empty() ? "" : " [row of " + r.annotator + "]"))
            << "\t";
        if (r.latest) {
            out << r.latest->annotationId << "\t" << r.latest->shortHash << "\t";
            if (!queue)
                out << r.latest->author << "\t";
            out << r.latest->createdUtc << "\t" << stateText(r.latest->state);
        } else {
            out << "-\t-\t" << (queue ? "" : "-\t") << "-\t"
                << "draft";
        }
        out << "\t" << r.openComments << "\n";
    }
}

int runStudies(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeAccessOptions({"state"}));
    std::optional<storage::ReviewState> state;
    if (const auto name = args.option("state")) {
        state = storage::parseReviewState(*name);
        if (!state)
            throw CommandError("unknown state '" + *name +
                               "' (draft, submitted, approved, changes, rejected)");
    }
    printRows(io.out, storeAccessFromArguments(args, io)->worklist(state), false);
    return 0;
}

int runQueue(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeAccessOptions());
    const auto rows = storeAccessFromArguments(args, io)->reviewQueue();
    printRows(io.out, rows, true);
    if (rows.empty())
        io.out << "(no version waits for review)\n";
    return 0;
}

// The version named by the first positional, and a review session on its study.
struct Named {
    std::int64_t id;
    std::unique_ptr<ReviewSession> review;
};
Named named(storage::Session& session, const Arguments& args, std::size_t index = 0) {
    const std::int64_t id =
        workflow::findVersion(session, args.positional(index, "VERSION (number or hash)"));
    return {id, std::make_unique<ReviewSession>(session, Reviews(session).studyOf(id))};
}

int runSubmit(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    auto session = loginFromArguments(args, io);
    const std::int64_t id =
        workflow::findVersion(session, args.positional(0, "VERSION (number or hash)"));
    workflow::submitForReview(session, id);
    io.out << "submitted version " << id << " for review\n";
    return 0;
}

std::string distance(double mm) {
    if (!std::isfinite(mm))
        return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << mm;
    return s.str();
}

int runDiff(Arguments& args, CommandIo& io) {
    declareStoreFlags(args, {"json"});
    args.allowOnly(storeOptions({"json", "tolerance"}));
    const double tolerance = std::stod(args.option("tolerance").value_or("1"));
    auto session = loginFromArguments(args, io);
    Named a = named(session, args, 0);
    const std::int64_t b =
        workflow::findVersion(session, args.positional(1, "second VERSION (number or hash)"));
    if (Reviews(session).studyOf(b) != a.review->studyId())
        throw CommandError("versions " + std::to_string(a.id) + " and " + std::to_string(b) +
                           " belong to different studies: only versions of one study compare");
    const workflow::Comparison c = a.review->compare(a.id, b, tolerance);
    if (args.flag("json")) {
        io.out << annotation::agreementJson(c.metrics) << "\n";
        return 0;
    }
    io.out << "reference " << c.reference.annotationId << " (" << c.reference.shortHash << ", "
           << c.reference.author << ")  compared " << c.compared.annotationId << " ("
           << c.compared.shortHash << ", " << c.compared.author << ")\n"
           << "segment\tDice\tJaccard\tvol ref mL\tvol cmp mL\tdiff %\tHD mm\tHD95 mm\tASSD mm\t"
              "surface Dice@"
           << tolerance << "mm\n";
    for (const annotation::SegmentAgreement& s : c.metrics.segments) {
        const auto& o = s.overlap;
        const auto& d = s.distances;
        io.out << std::fixed << std::setprecision(4) << s.name << "\t" << o.dice << "\t"
               << o.jaccard << "\t" << std::setprecision(2) << o.volumeReferenceMl << "\t"
               << o.volumeComparedMl << "\t"
               << (std::isfinite(o.volumeDifferencePercent) ? distance(o.volumeDifferencePercent)
                                                            : std::string("-"))
               << "\t" << distance(d.hausdorffMm) << "\t" << distance(d.hd95Mm) << "\t"
               << distance(d.assdMm) << "\t" << std::setprecision(4) << d.surfaceDice
               << (s.oneEmpty() ? "\t(one side empty)" : "") << "\n";
    }
    io.out << "boxes: " << c.metrics.boxes.pairs.size() << " matched";
    for (const auto& p : c.metrics.boxes.pairs)
        io.out << " [" << p.reference << "~" << p.compared << " IoU " << std::setprecision(3)
               << p.iou << "]";
    io.out << ", " << c.metrics.boxes.onlyInReference.size() << " only in the reference, "
           << c.metrics.boxes.onlyInCompared.size() << " only in the compared version\n"
           << "definitions: HD95 is MONAI's (max of the two directed 95th percentiles of "
              "boundary-voxel distances); see `review diff --json` or the README\n";
    return 0;
}

imaging::Vec3 parsePoint(const std::string& text) {
    imaging::Vec3 p{};
    char comma1 = 0, comma2 = 0;
    std::istringstream in(text);
    if (!(in >> p[0] >> comma1 >> p[1] >> comma2 >> p[2]) || comma1 != ',' || comma2 != ',')
        throw CommandError("--at wants voxel coordinates X,Y,Z (got '" + text + "')");
    return p;
}

int runComment(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"at", "text", "segment"}));
    const imaging::Vec3 at = parsePoint(args.required("at"));
    const std::string text = args.required("text");
    std::optional<annotation::Label> segment;
    if (const auto s = args.option("segment"))
        segment = annotation::Label(std::stoi(*s));
    auto session = loginFromArguments(args, io);
    Named v = named(session, args);
    const storage::ReviewComment c = v.review->pin(v.id, at, text, segment);
    io.out << "comment " << c.id << " pinned to version " << v.id << " at voxel " << (*c.voxel)[0]
           << "," << (*c.voxel)[1] << "," << (*c.voxel)[2] << "\n";
    return 0;
}

int runComments(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    auto session = loginFromArguments(args, io);
    Named v = named(session, args);
    const auto comments = v.review->comments(v.id);
    for (const storage::ReviewComment& c : comments) {
        io.out << (c.replyTo ? "  reply " : "comment ") << c.id << "  " << c.created << "  "
               << c.author;
        if (c.voxel)
            io.out << "  at " << (*c.voxel)[0] << "," << (*c.voxel)[1] << "," << (*c.voxel)[2];
        if (c.segment)
            io.out << "  segment " << *c.segment;
        if (!c.replyTo)
            io.out << (c.resolved ? "  resolved by " + c.resolvedBy : std::string("  open"));
        io.out << "\n    " << c.text << "\n";
    }
    if (comments.empty())
        io.out << "no comments on version " << v.id << "\n";
    return 0;
}

int runReply(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"text"}));
    const std::int64_t comment = std::stoll(args.positional(0, "COMMENT number"));
    const std::string text = args.required("text");
    auto session = loginFromArguments(args, io);
    const storage::ReviewComment r = Reviews(session).reply(comment, text);
    io.out << "reply " << r.id << " to comment " << comment << "\n";
    return 0;
}

int runResolve(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    const std::int64_t comment = std::stoll(args.positional(0, "COMMENT number"));
    auto session = loginFromArguments(args, io);
    Reviews(session).resolve(comment);
    io.out << "resolved comment " << comment << "\n";
    return 0;
}

int runDecide(Arguments& args, CommandIo& io) {
    declareStoreFlags(args, {"resolve-open-comments"});
    args.allowOnly(storeOptions({"message", "resolve-open-comments", "compare-with"}));
    const storage::Decision decision =
        storage::parseDecision(args.positional(1, "approve, changes or reject"));
    const std::string message = args.option("message").value_or("");
    auto session = loginFromArguments(args, io);
    Named v = named(session, args);
    // The metrics the decision holds: against the version named, else the previous one.
    std::optional<std::int64_t> with;
    if (const auto named = args.option("compare-with"))
        with = workflow::findVersion(session, *named);
    const std::string metrics = workflow::decisionMetrics(*v.review, v.id, with);
    try {
        const storage::ReviewDecisionRecord d =
            v.review->decide(v.id, decision, message, metrics, args.flag("resolve-open-comments"));
        io.out << "version " << v.id << " " << stateText(storage::stateAfter(d.decision))
               << " (content " << d.contentHash.substr(0, 12) << ")\n";
    } catch (const storage::OpenCommentsError& e) {
        throw CommandError(std::string(e.what()) + " (--resolve-open-comments)", 4);
    }
    return 0;
}

int runHistory(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    auto session = loginFromArguments(args, io);
    Named v = named(session, args);
    const ReviewVersion version = v.review->version(v.id);
    io.out << "version " << v.id << " (" << version.shortHash << ") by " << version.author << ": "
           << stateText(version.state) << "\n";
    for (const storage::ReviewEvent& e : v.review->history(v.id))
        io.out << e.time << "  " << e.user << "  " << e.what
               << (e.details.empty() ? "" : "  " + e.details) << "\n";
    return 0;
}

int runConsensus(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"study", "method", "versions"}));
    const std::string method = args.required("method");
    if (method != "vote" && method != "staple")
        throw CommandError("--method is vote or staple");
    auto session = loginFromArguments(args, io);
    const std::int64_t studyId = storage::Studies(session).idFor(args.required("study"));
    std::vector<std::int64_t> sources;
    if (const auto list = args.option("versions")) {
        std::istringstream in(*list);
        std::string item;
        while (std::getline(in, item, ','))
            sources.push_back(workflow::findVersion(session, item));
    }
    ReviewSession review(session, studyId);
    const ReviewVersion made = review.buildConsensus(
        method == "vote" ? ReviewSession::Method::Vote : ReviewSession::Method::Staple, sources);
    io.out << "consensus version " << made.annotationId << " (" << made.shortHash
           << "): " << made.message << "\n";
    return 0;
}

int runAgreement(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"out", "study", "tolerance"}));
    const std::filesystem::path out = args.required("out");
    const std::string ext = out.extension().string();
    if (ext != ".csv" && ext != ".pdf" && ext != ".md")
        throw CommandError("--out must end in .csv, .pdf or .md");
    const double tolerance = std::stod(args.option("tolerance").value_or("1"));
    auto session = loginFromArguments(args, io);
    std::optional<std::int64_t> study;
    if (const auto s = args.option("study"))
        study = storage::Studies(session).idFor(*s);
    const workflow::AgreementSummary summary =
        workflow::reviewersAgreement(session, study, tolerance);
    const report::Report model = workflow::agreementReport(summary, storage::utcNow());
    if (ext == ".csv")
        report::writeFileAtomically(out, report::writeCsv(workflow::agreementTable(summary)));
    else if (ext == ".md")
        report::writeFileAtomically(out, report::writeMarkdown(model));
    else
        report::writePdf(model, out);
    io.out << "wrote " << out.string() << ": " << summary.rows.size() << " segment comparisons\n";
    return 0;
}

} // namespace

RADMARK_COMMAND("studies",
                "[--state S] --user U [--via SOCKET]  the worklist: studies, latest version, "
                "review state, open comments (--via: through radmarkd)",
                runStudies);
RADMARK_COMMAND("review queue",
                "--user REVIEWER [--via SOCKET]  the submitted versions waiting for review",
                runQueue);
RADMARK_COMMAND("review submit", "VERSION --user ANNOTATOR  submit a saved version for review",
                runSubmit);
RADMARK_COMMAND("review diff", "A B [--json] [--tolerance MM]  metrics of two versions of a study",
                runDiff);
RADMARK_COMMAND("review comment",
                "VERSION --at X,Y,Z --text T [--segment L]  pin a comment to a voxel", runComment);
RADMARK_COMMAND("review comments", "VERSION  comments and replies of a version", runComments);
RADMARK_COMMAND("review reply", "COMMENT --text T  reply to a comment", runReply);
RADMARK_COMMAND("review resolve", "COMMENT  resolve a comment", runResolve);
RADMARK_COMMAND("review decide",
                "VERSION approve|changes|reject [--message M] [--resolve-open-comments] "
                "[--compare-with VERSION]  an immutable decision",
                runDecide);
RADMARK_COMMAND("review history", "VERSION  saves, submissions, decisions and comments",
                runHistory);
RADMARK_COMMAND("review consensus",
                "--study S --method vote|staple [--versions A,B,...]  a consensus version",
                runConsensus);
RADMARK_COMMAND("review agreement",
                "--out FILE.pdf|.csv|.md [--study S] [--tolerance MM]  agreement report",
                runAgreement);

} // namespace radmark::cli
