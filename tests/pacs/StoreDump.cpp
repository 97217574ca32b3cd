// pacs_store_dump STORE POLICY USER OUT (password on stdin): every stored study as import left it,
// written for an independent reader (tests/pacs/orthanc_test.py reads the headers with pydicom
// and searches every byte for the planted marker values): OUT/<label>/report.json, and per series
// header-N.dcm (the de-identified datasets, without pixel data) and volume.raw (the voxels).
// Everything it writes is de-identified: it is what the store holds.

#include "storage/Store.h"
#include "storage/StoredStudy.h"
#include "storage/Studies.h"

#include <filesystem>
#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    using namespace radmark;
    if (argc != 5) {
        std::cerr << "usage: pacs_store_dump STORE POLICY USER OUT < password\n";
        return 2;
    }
    try {
        std::string password;
        std::getline(std::cin, password);
        storage::Store store(argv[1], storage::Policy::load(fs::path(argv[2])));
        storage::Session session = store.login(argv[3], password);
        const fs::path out = argv[4];
        int studies = 0;
        for (const auto& study : storage::Studies(session).list()) {
            storage::StoredStudy stored = storage::StoredStudy::openForExport(session, study.id);
            const fs::path folder = out / study.label;
            fs::create_directories(folder);
            std::ofstream(folder / "report.json") << stored.loadReportJson();
            for (std::size_t s = 0; s < stored.series().size(); ++s) {
                const fs::path seriesFolder = folder / ("series-" + std::to_string(s));
                fs::create_directories(seriesFolder);
                int n = 0;
                for (const auto& header : stored.loadHeaders(s))
                    std::ofstream(seriesFolder / ("header-" + std::to_string(n++) + ".dcm"),
                                  std::ios::binary)
                        .write(reinterpret_cast<const char*>(header.data()),
                               std::streamsize(header.size()));
                const imaging::Volume volume = stored.loadVolume(s);
                std::ofstream(seriesFolder / "volume.raw", std::ios::binary)
                    .write(reinterpret_cast<const char*>(volume.data()),
                           std::streamsize(volume.byteCount()));
            }
            ++studies;
        }
        std::cout << studies << " studies\n";
    } catch (const std::exception& error) {
        std::cerr << "pacs_store_dump: " << error.what() << "\n";
        return 1;
    }
    return 0;
}
