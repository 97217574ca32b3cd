#pragma once
// A store ready to export, for the tests of workflow::exportDataset in-process
// (DatasetExportTests.cpp) and through the store service's channel (tests/service): two
// imported generated CT studies of two patients, each with a version (liver mask and two boxes)
// by annie, the first approved by ruby, the second only submitted; dataset "Boxes" holds both
// (the second chosen explicitly), with a protocol, split 1:1.

#include "StoreTestSupport.h"

#include "annotation/Segment.h"
#include "storage/Datasets.h"
#include "storage/StoredStudy.h"
#include "storage/Studies.h"
#include "storage/StudyImport.h"
#include "storage/Users.h"
#include "workflow/DatasetExport.h"
#include "workflow/Datasets.h"
#include "workflow/Review.h"
#include "workflow/StoredAnnotations.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::workflow::fixtures {

namespace fs = std::filesystem;
using namespace radmark::storage::testing;

inline std::string run(const std::string& command, int* status) {
    std::string out;
    if (FILE* p = ::popen((command + " 2>&1").c_str(), "r")) {
        char buffer[4096];
        std::size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0)
            out.append(buffer, n);
        *status = ::pclose(p);
    }
    return out;
}

inline std::vector<std::string> entries(const fs::path& folder) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(folder, ec))
        names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// The store, whose policy lists `destinations`.
class ExportFixture {
  public:
    explicit ExportFixture(std::vector<storage::ExportDestination> destinations)
        : store(policyWith(std::move(destinations))) {
        storage::Session admin = store.admin();
        storage::Users(admin).add("annie", storage::Role::Annotator, userPassword);
        storage::Users(admin).add("ruby", storage::Role::Reviewer, userPassword);
        std::vector<fs::path> series;
        for (int seed : {41, 42}) {
            const fs::path out = store.dir.path() / ("ct" + std::to_string(seed));
            int status = 0;
            const std::string output = run("/usr/bin/python3 " RADMARK_SOURCE_DIR
                                           "/tests/data/generate_ct_series.py --out " +
                                               out.string() + " --seed " + std::to_string(seed) +
                                               " --slices 5 --rows 64 --cols 48",
                                           &status);
            if (status != 0)
                throw std::runtime_error(output);
            // Two patients.
            run("/usr/bin/python3 -c \"import glob, pydicom\nfor f in glob.glob('" + out.string() +
                    "/*.dcm'):\n d = pydicom.dcmread(f); d.PatientID = 'MRN-" +
                    std::to_string(seed) + "'; d.save_as(f)\"",
                &status);
            series.push_back(out);
        }
        for (const auto& r : storage::importStudies(admin, series)) {
            if (r.status != storage::ImportStatus::Imported)
                throw std::runtime_error("import: " + r.reason);
            studies.push_back(r.studyId);
            storage::Studies(admin).assign("annie", r.studyId);
        }
        storage::Session annie = store.store.login("annie", userPassword);
        for (std::int64_t studyId : studies) {
            const imaging::Volume volume = storage::loadStoredVolume(annie, studyId);
            annotation::LabelMap labels(volume.geometry());
            annotation::SegmentList segments;
            annotation::Terminology::bundled().addSegment(segments, "10200004");
            for (std::size_t v = 0; v < volume.voxelCount(); ++v)
                if (volume.as<std::int16_t>()[v] > 20 && volume.as<std::int16_t>()[v] < 150)
                    labels.set(v, 1);
            annotation::BoxList boxes(volume.geometry().dims);
            boxes.add3D(1, "annie", {3, 4, 0}, {20, 30, 3});
            boxes.add2D(1, "annie", annotation::SliceAxis::Axial, {10, 12, 2}, {15, 14, 2});
            StoredAnnotationHistory history(annie, studyId);
            history.save(labels, segments, boxes.all(), "liver and boxes", std::nullopt);
            versions.push_back(history.stored().records.back().id);
            submitForReview(annie, versions.back());
        }
        {
            storage::Session ruby = store.store.login("ruby", userPassword);
            ReviewSession(ruby, studies[0]).decide(versions[0], storage::Decision::Approve, "ok");
        }
        createDataset(admin, "Boxes", 600, "detection test");
        addStudies(admin, "Boxes", {std::to_string(studies[0])});
        addStudies(admin, "Boxes", {std::to_string(studies[1])}, std::to_string(versions[1]));
        const fs::path guide = store.dir.path() / "guide.md";
        std::ofstream(guide) << "# Box guideline\n";
        setProtocol(admin, "Boxes", guide);
        splitDataset(admin, "Boxes", storage::splitSettings(3, 0.5, 0.5, 0));
    }

    static storage::Policy policyWith(std::vector<storage::ExportDestination> destinations) {
        storage::Policy p = lowCostPolicy();
        p.exportDestinations = std::move(destinations);
        return p;
    }
    ExportRequest request(const std::string& destination) const {
        ExportRequest r;
        r.dataset = "Boxes";
        r.destination = destination;
        return r;
    }
    std::vector<storage::DatasetExport> history() {
        storage::Session admin = store.admin();
        return storage::Datasets(admin).history("Boxes");
    }

    TestStore store;
    std::vector<std::int64_t> studies;
    std::vector<std::int64_t> versions;
};

} // namespace radmark::workflow::fixtures
