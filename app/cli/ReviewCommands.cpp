// radmark-cli review history --study S --version V    every decision and comment on a version
// radmark-cli review decide --study S --version V --approve|--reject [--comment TEXT]
// V is a version's short id as `versions` prints it (any unique prefix). Both go through the
// store session, so roles, assignments and the access log apply.

#include "app/cli/Command.h"
#include "app/cli/StoreSession.h"
#include "storage/Reviews.h"
#include "storage/Studies.h"
#include "workflow/StoredAnnotations.h"

#include <ostream>

namespace radmark::cli {
namespace {

// The store's annotation id of the version whose id starts with prefix.
std::int64_t annotationNamed(storage::Session& session, std::int64_t studyId,
                             const std::string& prefix) {
    const workflow::StoredVersions versions = workflow::storedVersions(session, studyId);
    std::int64_t found = 0;
    for (std::size_t i = 0; i < versions.ids.size(); ++i) {
        if (versions.ids[i].hex().rfind(prefix, 0) != 0)
            continue;
        if (found)
            throw CommandError("more than one version starts with " + prefix +
                               ": give more of its id");
        found = versions.records[i].id;
    }
    if (!found || prefix.empty())
        throw CommandError("there is no version " + prefix + " of this study");
    return found;
}

int runReviewHistory(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"study", "version"}));
    auto session = loginFromArguments(args, io);
    const std::int64_t studyId = storage::Studies(session).idFor(args.required("study"));
    const std::int64_t annotationId = annotationNamed(session, studyId, args.required("version"));
    const auto records = storage::Reviews(session).history(annotationId);
    for (const storage::ReviewRecord& r : records)
        io.out << r.created << "  " << r.reviewer << "  "
               << (r.decision ? storage::reviewStateName(*r.decision) : "comment") << "  \""
               << r.comment << "\"\n";
    if (records.empty())
        io.out << "no review decisions or comments on version " << args.required("version") << "\n";
    return 0;
}

int runReviewDecide(Arguments& args, CommandIo& io) {
    declareStoreFlags(args, {"approve", "reject"});
    args.allowOnly(storeOptions({"study", "version", "comment", "approve", "reject"}));
    if (args.flag("approve") == args.flag("reject"))
        throw CommandError("review decide: give --approve or --reject");
    auto session = loginFromArguments(args, io);
    const std::int64_t studyId = storage::Studies(session).idFor(args.required("study"));
    const std::int64_t annotationId = annotationNamed(session, studyId, args.required("version"));
    const auto decision =
        args.flag("approve") ? storage::ReviewState::Approved : storage::ReviewState::Rejected;
    storage::Reviews(session).decide(annotationId, decision, args.option("comment").value_or(""));
    io.out << "version " << args.required("version") << " " << storage::reviewStateName(decision)
           << "\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("review history",
                "--study S --version V [--user U]  every review decision and comment on a version",
                runReviewHistory);
RADMARK_COMMAND("review decide",
                "--study S --version V --approve|--reject [--comment TEXT] [--user U]  a "
                "reviewer's decision on a version",
                runReviewDecide);
} // namespace radmark::cli
