// radmark-cli dataset ...: the admin's datasets for export (cases and their versions, splits,
// protocol, label table, revisions, and every export made), through the same workflow calls as
// Admin > Datasets. STUDY is a pseudonym or number; VERSION a version's number or 6+ hex digits
// of its hash.

#include "app/cli/Command.h"
#include "app/cli/StoreSession.h"
#include "workflow/DatasetJson.h"
#include "workflow/Datasets.h"

#include <iomanip>
#include <ostream>
#include <sstream>

namespace radmark::cli {
namespace {

std::string shortHash(const std::string& hash) {
    return hash.empty() ? std::string("-") : hash.substr(0, 12);
}

std::string fraction(int permille) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(3) << permille / 1000.0;
    return s.str();
}

std::string number3(int number) {
    std::ostringstream s;
    s << std::setw(3) << std::setfill('0') << number;
    return s.str();
}

double fractionOption(const Arguments& args, const std::string& name, double fallback) {
    const auto text = args.option(name);
    if (!text)
        return fallback;
    try {
        std::size_t used = 0;
        const double value = std::stod(*text, &used);
        if (used == text->size())
            return value;
    } catch (const std::exception&) {
    }
    throw CommandError("--" + name + " wants a fraction such as 0.2 (got '" + *text + "')", 2);
}

std::int64_t integerOption(const std::string& text, const std::string& what) {
    try {
        std::size_t used = 0;
        const long long value = std::stoll(text, &used);
        if (used == text.size())
            return value;
    } catch (const std::exception&) {
    }
    throw CommandError(what + " wants a whole number (got '" + text + "')", 2);
}

void printLabels(std::ostream& out, const storage::LabelTable& table) {
    out << "value\tname\tcode\tcategory\n0\tbackground\t-\t-\n";
    for (const storage::LabelEntry& e : table.entries)
        out << e.value << "\t" << e.name << "\t" << storage::codeText(e.type)
            << (e.mappedByName ? " (mapped by name)" : "") << "\t"
            << (e.category ? storage::codeText(*e.category) : std::string("-")) << "\n";
    for (const storage::LabelConflict& c : table.conflicts) {
        out << "conflict: " << c.problem;
        if (!c.cases.empty()) {
            out << "; cases:";
            for (const std::string& name : c.cases)
                out << " " << name;
        }
        out << "\n";
    }
}

int runCreate(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"number", "purpose"}));
    const std::string name = args.positional(0, "NAME");
    std::optional<int> number;
    if (const auto n = args.option("number"))
        number = int(integerOption(*n, "--number"));
    auto session = loginFromArguments(args, io);
    const storage::DatasetSummary d =
        workflow::createDataset(session, name, number, args.option("purpose").value_or(""));
    io.out << "dataset " << d.name << " created: nnU-Net folder Dataset" << number3(d.number) << "_"
           << d.name << "\n";
    return 0;
}

int runEdit(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"purpose"}));
    const std::string name = args.positional(0, "NAME");
    const std::string purpose = args.required("purpose");
    auto session = loginFromArguments(args, io);
    workflow::setDatasetPurpose(session, name, purpose);
    io.out << "dataset " << name << ": purpose set\n";
    return 0;
}

int runList(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    auto session = loginFromArguments(args, io);
    io.out << "dataset\tnumber\tcases\trevisions\texports\tcreated\n";
    for (const storage::DatasetSummary& d : workflow::listDatasets(session))
        io.out << d.name << "\t" << number3(d.number) << "\t" << d.cases << "\t" << d.revisions
               << "\t" << d.exports << "\t" << d.created << "\n";
    return 0;
}

int runAdd(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"version"}));
    const std::string name = args.positional(0, "NAME");
    args.positional(1, "STUDY");
    const std::vector<std::string> studies(args.positionals().begin() + 1,
                                           args.positionals().end());
    auto session = loginFromArguments(args, io);
    workflow::addStudies(session, name, studies, args.option("version"));
    io.out << "dataset " << name << ": added " << studies.size() << " stud"
           << (studies.size() == 1 ? "y" : "ies")
           << (args.option("version") ? " with the version chosen" : " (latest approved)") << "\n";
    return 0;
}

int runRemove(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    const std::string name = args.positional(0, "NAME");
    const std::string study = args.positional(1, "STUDY");
    auto session = loginFromArguments(args, io);
    workflow::removeStudy(session, name, study);
    io.out << "dataset " << name << ": removed " << study << "\n";
    return 0;
}

int runVersion(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    const std::string name = args.positional(0, "NAME");
    const std::string study = args.positional(1, "STUDY");
    const std::string version = args.positional(2, "VERSION (or approved)");
    auto session = loginFromArguments(args, io);
    workflow::chooseVersion(session, name, study,
                            version == "approved" ? std::nullopt : std::optional(version));
    io.out << "dataset " << name << ": " << study << " exports "
           << (version == "approved" ? std::string("its latest approved version")
                                     : "version " + version)
           << "\n";
    return 0;
}

int runSplit(Arguments& args, CommandIo& io) {
    declareStoreFlags(args, {"keep-exported-test"});
    args.allowOnly(storeOptions({"seed", "train", "validation", "test", "keep-exported-test"}));
    const std::string name = args.positional(0, "NAME");
    const std::int64_t seed = integerOption(args.required("seed"), "--seed");
    const storage::SplitSettings settings = storage::splitSettings(
        seed, fractionOption(args, "train", 0.7), fractionOption(args, "validation", 0.1),
        fractionOption(args, "test", 0.2), args.flag("keep-exported-test"));
    auto session = loginFromArguments(args, io);
    workflow::splitDataset(session, name, settings);
    int counts[3] = {0, 0, 0};
    for (const storage::DatasetCase& c : storage::Datasets(session).get(name).cases)
        if (c.split)
            ++counts[int(*c.split)];
    io.out << "dataset " << name << " split with seed " << seed << ": " << counts[0] << " train, "
           << counts[1] << " validation, " << counts[2] << " test\n";
    return 0;
}

int runProtocol(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    const std::string name = args.positional(0, "NAME");
    const std::filesystem::path file = args.positional(1, "FILE (.md or .pdf)");
    auto session = loginFromArguments(args, io);
    const storage::ProtocolVersion p = workflow::setProtocol(session, name, file);
    io.out << "dataset " << name << ": protocol version " << p.version << " (" << p.fileName << ", "
           << p.mediaType << "), sha256 " << p.sha256 << "\n";
    return 0;
}

int runMap(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"segment-name", "code", "category"}));
    const std::string name = args.positional(0, "NAME");
    storage::SegmentNameMapping mapping{args.required("segment-name"),
                                        workflow::parseCodedTerm(args.required("code")),
                                        std::nullopt};
    if (const auto category = args.option("category"))
        mapping.category = workflow::parseCodedTerm(*category);
    auto session = loginFromArguments(args, io);
    workflow::mapSegmentName(session, name, mapping);
    io.out << "dataset " << name << ": segments named '" << mapping.segmentName
           << "' without a code take " << storage::codeText(mapping.type) << "\n";
    return 0;
}

int runUnmap(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions({"segment-name"}));
    const std::string name = args.positional(0, "NAME");
    const std::string segment = args.required("segment-name");
    auto session = loginFromArguments(args, io);
    workflow::unmapSegmentName(session, name, segment);
    io.out << "dataset " << name << ": '" << segment << "' is no longer mapped\n";
    return 0;
}

int runLabels(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    const std::string name = args.positional(0, "NAME");
    auto session = loginFromArguments(args, io);
    const storage::LabelTable table = workflow::checkLabelTable(session, name);
    printLabels(io.out, table);
    if (!table.conflicts.empty())
        throw CommandError("the label table of " + name + " has " +
                               std::to_string(table.conflicts.size()) +
                               " conflict(s): a freeze would be refused",
                           3);
    return 0;
}

int runFreeze(Arguments& args, CommandIo& io) {
    declareStoreFlags(args);
    args.allowOnly(storeOptions());
    const std::string name = args.positional(0, "NAME");
    auto session = loginFromArguments(args, io);
    const storage::FrozenRevision f = workflow::freezeRevision(session, name);
    const storage::DatasetRevision& r = f.revision;
    io.out << "dataset " << name << (f.existing ? " unchanged: revision " : ": revision ")
           << r.revision << " (id " << r.id << "), sha256 " << r.contentHash << ", parent "
           << (r.parentId
                   ? "revision " + std::to_string(r.parentRevision) + " " + shortHash(r.parentHash)
                   : std::string("none"))
           << ", " << r.cases.size() << " cases\n";
    return 0;
}

int runShow(Arguments& args, CommandIo& io) {
    declareStoreFlags(args, {"json"});
    args.allowOnly(storeOptions({"json"}));
    const std::string name = args.positional(0, "NAME");
    auto session = loginFromArguments(args, io);
    const workflow::DatasetOverview o = workflow::showDataset(session, name);
    if (args.flag("json")) {
        io.out << workflow::overviewJson(o) << "\n";
        return 0;
    }
    const storage::Dataset& d = o.dataset;
    io.out << "dataset " << d.summary.name << " (Dataset" << number3(d.summary.number) << "_"
           << d.summary.name << "), created " << d.summary.created << " by " << d.summary.createdBy
           << "\n"
           << "purpose: " << (d.summary.purpose.empty() ? "-" : d.summary.purpose) << "\n"
           << "protocol: ";
    if (d.protocol)
        io.out << "version " << d.protocol->version << ", " << d.protocol->fileName << " ("
               << d.protocol->mediaType << ", " << d.protocol->size << " bytes), sha256 "
               << d.protocol->sha256 << "\n";
    else
        io.out << "none\n";
    io.out << "split: ";
    if (d.split)
        io.out << "seed " << d.split->seed << ", train " << fraction(d.split->trainPermille)
               << ", validation " << fraction(d.split->validationPermille) << ", test "
               << fraction(d.split->testPermille)
               << (d.split->keepExportedTest ? ", exported test patients kept in test" : "")
               << "\n";
    else
        io.out << "none yet\n";
    io.out << "\ncases\nstudy\tpatient\tversion\thash\tstate\tsplit\n";
    for (const storage::DatasetCase& c : d.cases)
        io.out << c.pseudonym << "\t" << c.patientPseudonym << "\t"
               << (c.version ? std::to_string(*c.version) : std::string("-"))
               << (c.chosenVersion ? " (chosen)" : " (latest approved)") << "\t"
               << shortHash(c.versionHash) << "\t" << storage::reviewStateName(c.state)
               << (c.unapproved ? " UNAPPROVED" : "") << "\t"
               << (c.split ? storage::splitName(*c.split) : "-") << "\n";
    io.out << "\nlabels\n";
    printLabels(io.out, o.labels);
    if (!d.mappings.empty()) {
        io.out << "\nsegment names mapped to codes\n";
        for (const storage::SegmentNameMapping& m : d.mappings)
            io.out << "'" << m.segmentName << "'\t" << storage::codeText(m.type) << "\n";
    }
    io.out << "\nrevisions\nrevision\tsha256\tparent\tfrozen\tby\tcases\n";
    for (const storage::RevisionSummary& r : o.revisions)
        io.out << r.revision << "\t" << r.contentHash << "\t"
               << (r.parentRevision ? std::to_string(r.parentRevision) : std::string("-")) << "\t"
               << r.frozen << "\t" << r.frozenBy << "\t" << r.cases << "\n";
    io.out << "\nexports (which version each export holds)\n";
    if (o.exports.empty())
        io.out << "none yet\n";
    for (const storage::DatasetExport& x : o.exports) {
        io.out << "export " << x.id << "\trevision " << x.revision << " "
               << shortHash(x.revisionHash) << "\t" << storage::exportOutcomeName(x.outcome)
               << "\tto " << x.destination << "\tbundle " << (x.bundleId.empty() ? "-" : x.bundleId)
               << "\tby " << x.user << "\t" << x.requested;
        if (!x.finished.empty())
            io.out << " .. " << x.finished;
        if (!x.manifestHash.empty())
            io.out << "\tmanifest " << x.manifestHash;
        if (!x.reason.empty())
            io.out << "\treason: " << x.reason;
        io.out << "\n";
        for (const storage::ExportedVersion& v : x.versions)
            io.out << "  " << v.pseudonym << "\t" << v.versionHash << "\t"
                   << storage::splitName(v.split) << (v.unapproved ? "\tUNAPPROVED" : "") << "\n";
    }
    return 0;
}

} // namespace

RADMARK_COMMAND("dataset create", "NAME [--number NNN] [--purpose TEXT] --user ADMIN  a dataset",
                runCreate);
RADMARK_COMMAND("dataset edit", "NAME --purpose TEXT --user ADMIN  change a dataset's purpose",
                runEdit);
RADMARK_COMMAND("dataset list", "--user ADMIN  datasets with their cases, revisions and exports",
                runList);
RADMARK_COMMAND("dataset add",
                "NAME STUDY... [--version VERSION] --user ADMIN  add studies (latest approved "
                "version, or the one version chosen)",
                runAdd);
RADMARK_COMMAND("dataset remove", "NAME STUDY --user ADMIN  take a study out of a dataset",
                runRemove);
RADMARK_COMMAND("dataset version",
                "NAME STUDY VERSION|approved --user ADMIN  the version a case exports", runVersion);
RADMARK_COMMAND("dataset split",
                "NAME --seed S [--train 0.7 --validation 0.1 --test 0.2] "
                "[--keep-exported-test] --user ADMIN  split by patient",
                runSplit);
RADMARK_COMMAND("dataset protocol", "NAME FILE.md|FILE.pdf --user ADMIN  the labelling guideline",
                runProtocol);
RADMARK_COMMAND("dataset map",
                "NAME --segment-name N --code SCHEME:CODE:MEANING [--category S:C:M] --user "
                "ADMIN  a code for segments named N that have none",
                runMap);
RADMARK_COMMAND("dataset unmap", "NAME --segment-name N --user ADMIN  drop a name mapping",
                runUnmap);
RADMARK_COMMAND("dataset labels", "NAME --user ADMIN  the label table, or its conflicts (exit 3)",
                runLabels);
RADMARK_COMMAND("dataset freeze", "NAME --user ADMIN  an immutable revision of the dataset",
                runFreeze);
RADMARK_COMMAND("dataset show",
                "NAME [--json] --user ADMIN  cases, splits, labels, revisions and every export",
                runShow);

} // namespace radmark::cli
