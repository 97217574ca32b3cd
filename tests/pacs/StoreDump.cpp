// pacs_store_dump STORE POLICY USER OUT (password on stdin): every stored study as import left it,
// written for an independent reader (tests/pacs/orthanc_test.py reads the headers with pydicom
// and searches every byte for the planted marker values): OUT/<label>/report.json, and per series
// header-N.dcm (the de-identified datasets, without pixel data) and volume.raw (the voxels).
// And OUT/database.bin: every column of every row of every table of the database, opened with
// the admin's key (so every page decrypted), with each chunk zstd-decompressed: what the marker
// search must also come up empty on (grepping the encrypted, compressed file proves nothing).
// Everything it writes is de-identified: it is what the store holds.

#include "imaging/Chunks.h"
#include "storage/Database.h"
#include "storage/Keyring.h"
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
        // Every page: each table's rows, column by column, chunks decompressed.
        const storage::Keyring keyring = storage::Keyring::load(store.keyringPath());
        const storage::SecureBytes key =
            keyring.unwrapWithPassword(keyring.userIdFor(argv[3]), password);
        storage::Database db = storage::Database::open(store.databasePath(), &key, false);
        std::ofstream all(out / "database.bin", std::ios::binary);
        std::vector<std::string> tables;
        {
            auto s = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'");
            while (s.step())
                tables.push_back(s.text(0));
        }
        std::size_t chunks = 0;
        for (const auto& table : tables) {
            std::vector<std::string> columns;
            {
                auto s = db.prepare("PRAGMA table_info(\"" + table + "\")");
                while (s.step())
                    columns.push_back(s.text(1));
            }
            for (const auto& column : columns) {
                auto s =
                    db.prepare("SELECT CAST(\"" + column + "\" AS BLOB) FROM \"" + table + "\"");
                while (s.step()) {
                    const auto* data = static_cast<const std::uint8_t*>(s.blobData(0));
                    const std::size_t size = s.blobSize(0);
                    all.write(reinterpret_cast<const char*>(data), std::streamsize(size));
                    all.put('\n');
                    if (table == "chunks" && column == "data" && size > 0) {
                        const auto raw = imaging::decompressChunk({data, size});
                        all.write(reinterpret_cast<const char*>(raw.data()),
                                  std::streamsize(raw.size()));
                        all.put('\n');
                        ++chunks;
                    }
                }
            }
        }
        std::cout << studies << " studies, " << tables.size() << " tables, " << chunks
                  << " chunks\n";
    } catch (const std::exception& error) {
        std::cerr << "pacs_store_dump: " << error.what() << "\n";
        return 1;
    }
    return 0;
}
