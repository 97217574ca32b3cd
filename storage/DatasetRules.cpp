#include "storage/DatasetRules.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>

namespace radmark::storage::internal {

namespace {

bool codeLess(const CodedTerm& a, const CodedTerm& b) {
    if (a.scheme != b.scheme)
        return a.scheme < b.scheme;
    const bool digitsA = a.code.find_first_not_of("0123456789") == std::string::npos;
    const bool digitsB = b.code.find_first_not_of("0123456789") == std::string::npos;
    if (digitsA && digitsB && a.code.size() != b.code.size())
        return a.code.size() < b.code.size(); // numerically, without overflow
    return a.code < b.code;
}

std::string codeKey(const CodedTerm& t) {
    return t.scheme + ":" + t.code;
}

// Patients in the seed's order: by SHA-256 of the seed and the pseudonym, so that anyone can
// redo it from the record (docs/datasets.md, "Splits").
std::vector<std::string> seededOrder(std::vector<std::string> patients, std::int64_t seed) {
    std::vector<std::pair<std::string, std::string>> keyed;
    for (std::string& p : patients)
        keyed.emplace_back(sha256Hex("radmark-split-1\n" + std::to_string(seed) + "\n" + p),
                           std::move(p));
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::string> out;
    for (auto& [key, p] : keyed)
        out.push_back(std::move(p));
    return out;
}

} // namespace

std::string sha256Hex(const void* data, std::size_t size) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, static_cast<const unsigned char*>(data), size);
    return toHex(Bytes(digest, digest + sizeof digest));
}
std::string sha256Hex(const std::string& text) {
    return sha256Hex(text.data(), text.size());
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const std::string& item : items)
        out += (out.empty() ? "" : separator) + item;
    return out;
}

std::vector<std::string> pseudonymsOf(const std::vector<DatasetCase>& cases) {
    std::vector<std::string> out;
    for (const DatasetCase& c : cases)
        out.push_back(c.pseudonym);
    return out;
}

std::string lowerCase(std::string text) {
    for (char& c : text)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::vector<std::string> sorted(const std::set<std::string>& items) {
    return {items.begin(), items.end()};
}

// ---------------------------------------------------------------------------------------------
// The label table rule

std::vector<const SurveyedVersion*> matchSurvey(const std::vector<DatasetCase>& cases,
                                                const LabelSurvey& survey) {
    std::map<std::int64_t, const SurveyedVersion*> byStudy;
    for (const SurveyedVersion& v : survey)
        byStudy[v.studyId] = &v;
    std::vector<const SurveyedVersion*> out;
    for (const DatasetCase& c : cases) {
        const auto it = byStudy.find(c.studyId);
        if (!c.version) {
            out.push_back(nullptr);
            continue;
        }
        if (it == byStudy.end() || it->second->annotationId != *c.version ||
            it->second->versionHash != c.versionHash)
            throw InvalidRequestError("the segments read for " + c.pseudonym +
                                      " are not those of the version it exports now; read the "
                                      "dataset again");
        out.push_back(it->second);
    }
    if (survey.size() != out.size() - std::size_t(std::count(out.begin(), out.end(), nullptr)))
        throw InvalidRequestError("the segments read name a study that is not in the dataset");
    return out;
}

LabelTable computeLabelTable(const std::vector<DatasetCase>& cases, const LabelSurvey& survey,
                             const std::vector<SegmentNameMapping>& mappings) {
    const std::vector<const SurveyedVersion*> matched = matchSurvey(cases, survey);
    std::map<std::string, const SegmentNameMapping*> mappingOf;
    for (const SegmentNameMapping& m : mappings)
        mappingOf[m.segmentName] = &m;

    struct Seen {
        CodedTerm type;
        std::optional<CodedTerm> category;
        bool mapped = false;
        std::map<std::string, std::set<std::string>> names;      // name -> cases
        std::map<std::string, std::set<std::string>> categories; // category key -> cases
    };
    std::map<std::string, Seen> byCode;                                         // code key -> seen
    std::map<std::string, std::map<std::string, std::set<std::string>>> byName; // name -> codes
    std::map<std::string, std::set<std::string>> uncoded; // segment name -> cases
    std::map<std::string, std::set<std::string>> background;
    std::vector<LabelConflict> conflicts;
    std::set<std::string> noVersion;
    // Per case: segment label -> code key, resolved below.
    std::vector<std::map<std::uint32_t, std::string>> codeOfLabel(cases.size());

    for (std::size_t i = 0; i < cases.size(); ++i) {
        const DatasetCase& c = cases[i];
        if (!matched[i]) {
            noVersion.insert(c.pseudonym);
            continue;
        }
        std::map<std::string, std::vector<std::string>> inThisCase; // code key -> segment names
        for (const SurveyedSegment& segment : matched[i]->segments) {
            std::optional<CodedTerm> type = segment.type;
            std::optional<CodedTerm> category = segment.category;
            bool mapped = false;
            if (!type) {
                const auto m = mappingOf.find(segment.name);
                if (m == mappingOf.end()) {
                    uncoded[segment.name].insert(c.pseudonym);
                    continue;
                }
                type = m->second->type;
                if (!category)
                    category = m->second->category;
                mapped = true;
            }
            if (lowerCase(segment.name) == "background")
                background[segment.name].insert(c.pseudonym);
            const std::string key = codeKey(*type);
            Seen& seen = byCode[key];
            if (seen.names.empty()) {
                seen.type = *type;
                seen.category = category;
            }
            seen.mapped = seen.mapped || mapped;
            seen.names[segment.name].insert(c.pseudonym);
            seen.categories[category ? codeKey(*category) : std::string("(none)")].insert(
                c.pseudonym);
            byName[segment.name][key].insert(c.pseudonym);
            inThisCase[key].push_back(segment.name + " (label " + std::to_string(segment.label) +
                                      ")");
            codeOfLabel[i][segment.label] = key;
        }
        for (const auto& [key, names] : inThisCase)
            if (names.size() > 1)
                conflicts.push_back({"two segments of one case carry " +
                                         codeText(byCode[key].type) + ": " + joined(names),
                                     {c.pseudonym}});
    }
    if (!noVersion.empty())
        conflicts.push_back(
            {"no version to export (none approved and none chosen)", sorted(noVersion)});
    for (const auto& [name, where] : uncoded)
        conflicts.push_back({"segment '" + name +
                                 "' has no terminology code: give it one, or map the name to a "
                                 "code (dataset map)",
                             sorted(where)});
    for (const auto& [name, where] : background)
        conflicts.push_back(
            {"a segment is named '" + name + "', which is nnU-Net's name for label 0: rename it",
             sorted(where)});
    for (const auto& [key, seen] : byCode) {
        if (seen.names.size() > 1) {
            std::vector<std::string> names;
            std::set<std::string> where;
            for (const auto& [name, in] : seen.names) {
                names.push_back("'" + name + "'");
                where.insert(in.begin(), in.end());
            }
            conflicts.push_back(
                {codeText(seen.type) + " has different names: " + joined(names), sorted(where)});
        }
        if (seen.categories.size() > 1) {
            std::vector<std::string> categories;
            std::set<std::string> where;
            for (const auto& [category, in] : seen.categories) {
                categories.push_back(category);
                where.insert(in.begin(), in.end());
            }
            conflicts.push_back(
                {codeText(seen.type) + " has different categories: " + joined(categories),
                 sorted(where)});
        }
    }
    for (const auto& [name, codes] : byName) {
        if (codes.size() < 2)
            continue;
        std::vector<CodedTerm> terms;
        std::set<std::string> where;
        for (const auto& [key, in] : codes) {
            terms.push_back(byCode[key].type);
            where.insert(in.begin(), in.end());
        }
        std::sort(terms.begin(), terms.end(), codeLess);
        std::vector<std::string> named;
        for (const CodedTerm& t : terms)
            named.push_back(codeText(t));
        conflicts.push_back(
            {"the name '" + name + "' is given to different codes: " + joined(named),
             sorted(where)});
    }

    LabelTable table;
    std::vector<const Seen*> order;
    for (const auto& [key, seen] : byCode)
        order.push_back(&seen);
    std::sort(order.begin(), order.end(),
              [](const Seen* a, const Seen* b) { return codeLess(a->type, b->type); });
    std::map<std::string, int> valueOf;
    for (const Seen* seen : order) {
        const int value = int(table.entries.size()) + 1;
        table.entries.push_back(
            {value, seen->names.begin()->first, seen->type, seen->category, seen->mapped});
        valueOf[codeKey(seen->type)] = value;
    }
    if (table.entries.empty() && conflicts.empty() && !cases.empty())
        conflicts.push_back(
            {"no case has a segment: there is nothing to label", pseudonymsOf(cases)});
    for (std::size_t i = 0; i < cases.size(); ++i) {
        CaseLabels labels{cases[i].studyId, cases[i].pseudonym, {}};
        for (const auto& [label, key] : codeOfLabel[i])
            labels.valueOf[label] = valueOf.at(key);
        table.cases.push_back(std::move(labels));
    }
    table.conflicts = std::move(conflicts);
    return table;
}

std::string conflictText(const std::vector<LabelConflict>& conflicts) {
    std::vector<std::string> parts;
    for (const LabelConflict& c : conflicts)
        parts.push_back(c.problem + " (" + joined(c.cases) + ")");
    return joined(parts, "; ");
}

// ---------------------------------------------------------------------------------------------
// Splits

std::map<std::string, Split> assignPatients(const std::set<std::string>& patients,
                                            const SplitSettings& s,
                                            const std::set<std::string>& pinnedToTest) {
    const int n = int(patients.size());
    int tests = (n * s.testPermille + 500) / 1000;
    int validations = (n * s.validationPermille + 500) / 1000;
    if (tests + validations >= n && n > 0) { // keep one patient to train on
        validations = std::max(0, n - 1 - tests);
        tests = std::min(tests, n - 1 - validations);
    }
    std::map<std::string, Split> out;
    std::vector<std::string> free;
    for (const std::string& p : patients) {
        if (pinnedToTest.count(p))
            out[p] = Split::Test;
        else
            free.push_back(p);
    }
    int testSlots = std::max(0, tests - int(out.size()));
    int validationSlots = validations;
    for (const std::string& p : seededOrder(std::move(free), s.seed)) {
        if (testSlots > 0) {
            out[p] = Split::Test;
            --testSlots;
        } else if (validationSlots > 0) {
            out[p] = Split::Validation;
            --validationSlots;
        } else {
            out[p] = Split::Train;
        }
    }
    return out;
}

void checkSplitSettings(const SplitSettings& s) {
    if (s.trainPermille <= 0 || s.validationPermille < 0 || s.testPermille < 0 ||
        s.trainPermille + s.validationPermille + s.testPermille != 1000)
        throw InvalidRequestError("the split fractions must be at least 0, train above 0, and "
                                  "sum to 1");
    if (s.seed < 0)
        throw InvalidRequestError("the split seed must be 0 or more");
}

} // namespace radmark::storage::internal
