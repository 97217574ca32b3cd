#pragma once
// Test support: expected values from an independent reader (pydicom / nibabel, through
// reference_reader.py) and the synthetic DICOM fixtures it generates into a private temp folder.

#include "imaging/Volume.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace radmark::imaging::testing {

std::filesystem::path pydicomFile(const std::string& name);
std::filesystem::path nibabelFile(const std::string& name);

// Runs reference_reader.py with the arguments and parses its JSON output.
nlohmann::json reference(const std::vector<std::string>& arguments);

// The synthetic fixtures (uniform/, missing/, nonuniform/, coronal/, mixed/, enhanced/, empty/,
// not_dicom.dcm, mpeg2.dcm), generated once per test process and removed at exit.
const std::filesystem::path& fixtures();

// All voxel values of a volume, as doubles, in buffer order (x fastest).
std::vector<double> valuesOf(const Volume& volume);

} // namespace radmark::imaging::testing
