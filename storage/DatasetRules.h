#pragma once
// The rules of docs/datasets.md as pure functions, for storage/Datasets: the label table (codes,
// conflicts, consecutive values) and the split of patients from a seed. Storage's own: they touch
// no store, and the public door to them is storage::Datasets.

#include "storage/Datasets.h"

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace radmark::storage::internal {

std::string sha256Hex(const void* data, std::size_t size); // lower-case hex
std::string sha256Hex(const std::string& text);
std::string joined(const std::vector<std::string>& items, const char* separator = ", ");
std::string lowerCase(std::string text);
std::vector<std::string> sorted(const std::set<std::string>& items);
std::vector<std::string> pseudonymsOf(const std::vector<DatasetCase>& cases);

// The survey entry of each case, in the cases' order (nullptr for a case without a version to
// export). Throws InvalidRequestError unless the survey holds exactly the cases' versions.
std::vector<const SurveyedVersion*> matchSurvey(const std::vector<DatasetCase>& cases,
                                                const LabelSurvey& survey);
// The label table of the cases' surveyed segments under the name mappings, with every conflict.
LabelTable computeLabelTable(const std::vector<DatasetCase>& cases, const LabelSurvey& survey,
                             const std::vector<SegmentNameMapping>& mappings);
std::string conflictText(const std::vector<LabelConflict>& conflicts); // one line, cases named

// Each patient's split: pinned patients in test, the others in the seed's order.
std::map<std::string, Split> assignPatients(const std::set<std::string>& patients,
                                            const SplitSettings& settings,
                                            const std::set<std::string>& pinnedToTest);
// Throws InvalidRequestError unless the fractions sum to 1000 thousandths, train > 0, seed >= 0.
void checkSplitSettings(const SplitSettings& settings);

} // namespace radmark::storage::internal
