#pragma once
// The rules nnU-Net v2's verify_dataset_integrity applies to a raw dataset folder
// (DatasetNNN_Name/ with dataset.json, imagesTr, labelsTr, optional imagesTs, labelsTs and
// splits_final.json), checked from the files alone: dataset.json's keys, labels (background 0,
// consecutive integers), numTraining, file_ending (.nii.gz), every channel of every case, a
// label for every image, one grid for image and label (NIfTI header: shape, spacing, qform,
// sform), label voxels only of the label table, and splits naming training cases only.

#include "bundle/BundleProblem.h"

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace radmark::bundle {

struct NnunetDatasetSummary {
    std::string name; // DatasetNNN_Name
    std::vector<std::string> channels;
    std::vector<std::pair<std::string, long long>> labels; // in value order
    std::size_t trainingCases = 0;
    std::size_t testCases = 0;
    bool testLabels = false;
    std::size_t folds = 0;          // in splits_final.json; 0 when absent
    std::size_t firstFoldTrain = 0; // fold 0
    std::size_t firstFoldValidation = 0;
};

// Is name of the form DatasetNNN_Name (three digits, a name)?
bool isNnunetDatasetName(const std::string& name);

// folder: the DatasetNNN_Name folder; shownAs: how problems name it (e.g. "data/Dataset001_X").
// Appends what is wrong to problems; returns what the dataset holds.
NnunetDatasetSummary checkNnunetDataset(const std::filesystem::path& folder,
                                        const std::string& shownAs,
                                        std::vector<BundleProblem>& problems);

} // namespace radmark::bundle
