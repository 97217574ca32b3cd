#include "bundle/NnunetCheck.h"

#include "bundle/BagIt.h"
#include "bundle/Errors.h"
#include "bundle/NiftiHeader.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace radmark::bundle {

namespace fs = std::filesystem;

bool isNnunetDatasetName(const std::string& name) {
    static const std::regex pattern("Dataset[0-9]{3}_.+");
    return std::regex_match(name, pattern);
}

namespace {

struct CaseFiles {
    std::map<int, std::string> channels; // channel -> file name
};

// Files of a folder as CASE_XXXX<ending> (images) grouped by case; anything else is a problem.
std::map<std::string, CaseFiles> imageCases(const fs::path& folder, const std::string& shownAs,
                                            const std::string& ending,
                                            std::vector<BundleProblem>& problems) {
    std::map<std::string, CaseFiles> cases;
    static const std::regex channelSuffix("(.+)_([0-9]{4})");
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        return cases;
    for (const auto& file : listRegularFiles(folder, folder)) {
        std::smatch m;
        const bool ends = file.size() > ending.size() &&
                          file.compare(file.size() - ending.size(), ending.size(), ending) == 0;
        const std::string stem = ends ? file.substr(0, file.size() - ending.size()) : file;
        if (!ends || file.find('/') != std::string::npos ||
            !std::regex_match(stem, m, channelSuffix)) {
            problems.push_back(
                {shownAs + "/" + file, "not an nnU-Net image name (CASE_XXXX" + ending + ")"});
            continue;
        }
        cases[m[1].str()].channels[std::stoi(m[2].str())] = file;
    }
    return cases;
}

std::set<std::string> labelCases(const fs::path& folder, const std::string& shownAs,
                                 const std::string& ending, std::vector<BundleProblem>& problems) {
    std::set<std::string> cases;
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        return cases;
    for (const auto& file : listRegularFiles(folder, folder)) {
        const bool ends = file.size() > ending.size() &&
                          file.compare(file.size() - ending.size(), ending.size(), ending) == 0;
        if (!ends || file.find('/') != std::string::npos) {
            problems.push_back(
                {shownAs + "/" + file, "not an nnU-Net label name (CASE" + ending + ")"});
            continue;
        }
        cases.insert(file.substr(0, file.size() - ending.size()));
    }
    return cases;
}

// One split (Tr or Ts): every channel present, a label per case (when labels are expected),
// image and label on one grid, label values from the table.
void checkSplit(const fs::path& root, const std::string& shownAs, const std::string& images,
                const std::string& labels, const std::map<std::string, CaseFiles>& cases,
                const std::set<std::string>& labelled, bool labelsExpected,
                std::size_t channelCount, const std::string& ending,
                const std::set<long long>& labelValues, std::vector<BundleProblem>& problems) {
    for (const auto& [id, files] : cases) {
        for (std::size_t c = 0; c < channelCount; ++c)
            if (!files.channels.count(int(c))) {
                char suffix[24];
                std::snprintf(suffix, sizeof suffix, "_%04zu", c);
                problems.push_back(
                    {shownAs + "/" + images + "/" + id + suffix + ending,
                     "missing: case " + id + " has no channel " + std::to_string(c)});
            }
        for (const auto& [channel, file] : files.channels)
            if (channel < 0 || std::size_t(channel) >= channelCount)
                problems.push_back({shownAs + "/" + images + "/" + file,
                                    "channel " + std::to_string(channel) +
                                        " is not in dataset.json's channel_names"});
        if (labelsExpected && !labelled.count(id)) {
            problems.push_back(
                {shownAs + "/" + labels + "/" + id + ending,
                 "missing: " + images + "/" + files.channels.begin()->second + " has no label"});
            continue;
        }
        if (!labelsExpected)
            continue;
        const std::string labelShown = shownAs + "/" + labels + "/" + id + ending;
        try {
            const NiftiHeader label = readNiftiGzHeader(root / labels / (id + ending));
            for (const auto& [channel, file] : files.channels) {
                const NiftiHeader image = readNiftiGzHeader(root / images / file);
                const std::string difference = gridDifference(image, label);
                if (!difference.empty())
                    problems.push_back({labelShown, "not on the grid of " + images + "/" + file +
                                                        ": " + difference});
            }
            std::string outside;
            for (std::int64_t v : niftiLabelValues(root / labels / (id + ending), label))
                if (!labelValues.count(v))
                    outside += (outside.empty() ? "" : ", ") + std::to_string(v);
            if (!outside.empty())
                problems.push_back(
                    {labelShown, "holds values not in dataset.json's labels: " + outside});
        } catch (const BundleError& e) {
            problems.push_back({labelShown, e.what()});
        }
    }
    for (const auto& id : labelled)
        if (!cases.count(id))
            problems.push_back({shownAs + "/" + labels + "/" + id + ending,
                                "a label without an image in " + images});
}

} // namespace

NnunetDatasetSummary checkNnunetDataset(const fs::path& folder, const std::string& shownAs,
                                        std::vector<BundleProblem>& problems) {
    NnunetDatasetSummary summary;
    summary.name = folder.filename().string();
    const std::string jsonShown = shownAs + "/dataset.json";
    nlohmann::json dataset;
    try {
        dataset = nlohmann::json::parse(readTextFile(folder / "dataset.json"));
    } catch (const BundleError&) {
        problems.push_back({jsonShown, "missing or unreadable"});
        return summary;
    } catch (const nlohmann::json::exception&) {
        problems.push_back({jsonShown, "not valid JSON"});
        return summary;
    }
    if (!dataset.is_object()) {
        problems.push_back({jsonShown, "not a JSON object"});
        return summary;
    }
    for (const char* key : {"channel_names", "labels", "numTraining", "file_ending"})
        if (!dataset.contains(key)) {
            problems.push_back({jsonShown, std::string("has no \"") + key + "\""});
            return summary;
        }

    // channel_names: {"0": "CT", ...} with keys 0..n-1.
    const auto& channels = dataset["channel_names"];
    if (!channels.is_object() || channels.empty()) {
        problems.push_back({jsonShown, "channel_names must be a non-empty object"});
        return summary;
    }
    for (std::size_t c = 0; c < channels.size(); ++c) {
        const std::string key = std::to_string(c);
        if (!channels.contains(key) || !channels[key].is_string()) {
            problems.push_back({jsonShown, "channel_names must have keys 0.." +
                                               std::to_string(channels.size() - 1)});
            return summary;
        }
        summary.channels.push_back(channels[key].get<std::string>());
    }

    // labels: {"background": 0, "liver": 1, ...}, integers 0..n-1.
    const auto& labels = dataset["labels"];
    std::set<long long> labelValues;
    if (!labels.is_object()) {
        problems.push_back({jsonShown, "labels must be an object"});
        return summary;
    }
    for (const auto& [name, value] : labels.items()) {
        if (!value.is_number_integer()) {
            problems.push_back({jsonShown, "label \"" + name +
                                               "\" is not an integer (region-based labels are "
                                               "not written by Radmark)"});
            return summary;
        }
        summary.labels.emplace_back(name, value.get<long long>());
        if (!labelValues.insert(value.get<long long>()).second)
            problems.push_back({jsonShown, "label value " + value.dump() + " is used twice"});
    }
    std::sort(summary.labels.begin(), summary.labels.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
    if (!labels.contains("background") || labels["background"] != 0)
        problems.push_back({jsonShown, "labels must have \"background\": 0"});
    long long expected = 0;
    for (long long v : labelValues) {
        if (v != expected) {
            problems.push_back({jsonShown, "label values are not consecutive integers from 0 (" +
                                               std::to_string(expected) + " is missing)"});
            break;
        }
        ++expected;
    }

    const auto& fileEnding = dataset["file_ending"];
    if (!fileEnding.is_string() || fileEnding.get<std::string>() != ".nii.gz") {
        problems.push_back(
            {jsonShown, "file_ending must be \".nii.gz\" (the only ending Radmark writes)"});
        return summary;
    }
    const std::string ending = ".nii.gz";

    const auto training = imageCases(folder / "imagesTr", shownAs + "/imagesTr", ending, problems);
    const auto trainingLabels =
        labelCases(folder / "labelsTr", shownAs + "/labelsTr", ending, problems);
    summary.trainingCases = training.size();
    if (!dataset["numTraining"].is_number_integer() ||
        dataset["numTraining"].get<long long>() != (long long)(training.size()))
        problems.push_back({jsonShown, "numTraining is " + dataset["numTraining"].dump() +
                                           " but imagesTr holds " +
                                           std::to_string(training.size()) + " cases"});
    checkSplit(folder, shownAs, "imagesTr", "labelsTr", training, trainingLabels, true,
               summary.channels.size(), ending, labelValues, problems);

    const auto test = imageCases(folder / "imagesTs", shownAs + "/imagesTs", ending, problems);
    summary.testCases = test.size();
    std::error_code ec;
    summary.testLabels = fs::is_directory(folder / "labelsTs", ec);
    const auto testLabels = summary.testLabels ? labelCases(folder / "labelsTs",
                                                            shownAs + "/labelsTs", ending, problems)
                                               : std::set<std::string>{};
    checkSplit(folder, shownAs, "imagesTs", "labelsTs", test, testLabels, summary.testLabels,
               summary.channels.size(), ending, labelValues, problems);

    // splits_final.json: [{"train": [...], "val": [...]}, ...] over training cases only.
    const fs::path splitsFile = folder / "splits_final.json";
    if (fs::exists(splitsFile, ec)) {
        const std::string splitsShown = shownAs + "/splits_final.json";
        try {
            const auto splits = nlohmann::json::parse(readTextFile(splitsFile));
            if (!splits.is_array() || splits.empty())
                throw std::runtime_error("must be a non-empty list of folds");
            summary.folds = splits.size();
            for (std::size_t f = 0; f < splits.size(); ++f) {
                const auto train = splits[f].at("train").get<std::vector<std::string>>();
                const auto val = splits[f].at("val").get<std::vector<std::string>>();
                if (f == 0) {
                    summary.firstFoldTrain = train.size();
                    summary.firstFoldValidation = val.size();
                }
                std::set<std::string> seen;
                for (const auto* part : {&train, &val})
                    for (const auto& id : *part) {
                        if (!training.count(id))
                            problems.push_back({splitsShown, "fold " + std::to_string(f) +
                                                                 " names " + id +
                                                                 ", which is not in imagesTr"});
                        if (!seen.insert(id).second)
                            problems.push_back({splitsShown, "fold " + std::to_string(f) +
                                                                 " names " + id + " twice"});
                    }
                for (const auto& [id, files] : training)
                    if (!seen.count(id))
                        problems.push_back({splitsShown, "fold " + std::to_string(f) +
                                                             " leaves out training case " + id});
            }
        } catch (const BundleError&) {
            problems.push_back({splitsShown, "unreadable"});
        } catch (const std::exception& e) {
            problems.push_back(
                {splitsShown, std::string("not nnU-Net's splits format: ") + e.what()});
        }
    }
    return summary;
}

} // namespace radmark::bundle
