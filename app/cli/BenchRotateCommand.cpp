// radmark-cli bench rotate: how long a key rotation takes (issue 13: "rotating the key of a store
// holding that CT and 10 users is reported"). A store with a generated 512x512xN CT (default
// N = 500, int16 with noise so that zstd does not shrink it to nothing, imported as a NIfTI file
// through the same import as the workstation's) and 10 users; then store rotate-key's code path,
// timed: seconds, seconds per GB of store.db. Afterwards a user's login opens the store and the
// old key opens nothing. Synthetic data only; test builds only (bench commands).

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "imaging/NiftiWriter.h"
#include "storage/KeyRotation.h"
#include "storage/Studies.h"
#include "storage/StudyImport.h"
#include "storage/Users.h"

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>

namespace radmark::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Body ellipse (40 HU) with a liver-like region (60 HU), spine (700 HU) and noise (about
// +-24 HU, as a CT's), air outside.
imaging::Volume noisyCt(int slices) {
    imaging::Geometry g;
    g.dims = {512, 512, slices};
    g.spacing = {0.7, 0.7, 1.0};
    imaging::Volume ct = imaging::Volume::uninitialized(g, imaging::PixelType::Int16);
    auto* v = ct.as<std::int16_t>();
    std::uint32_t state = 2463534242u;
    for (int z = 0; z < slices; ++z)
        for (int y = 0; y < 512; ++y)
            for (int x = 0; x < 512; ++x, ++v) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                const int noise = int(state % 49) - 24;
                const double bx = (x - 256) / 220.0, by = (y - 256) / 170.0;
                int hu = -1000 + noise / 4;
                if (bx * bx + by * by <= 1) {
                    hu = 40 + noise;
                    const double lx = (x - 200 - z % 20) / 50.0, ly = (y - 240) / 40.0;
                    if (lx * lx + ly * ly < 1)
                        hu = 60 + noise;
                    if (std::abs(x - 256) < 12 && std::abs(y - 330) < 14)
                        hu = 700 + noise * 4;
                }
                *v = std::int16_t(hu);
            }
    return ct;
}

int runBenchRotate(Arguments& args, CommandIo& io) {
    args.allowOnly({"dir", "slices", "users"});
    namespace fs = std::filesystem;
    const fs::path base =
        args.option("dir") ? fs::path(*args.option("dir")) : fs::temp_directory_path();
    const int slices = std::stoi(args.option("slices").value_or("500"));
    const int users = std::stoi(args.option("users").value_or("10"));
    if (slices < 1 || users < 1)
        throw CommandError("--slices and --users want positive numbers", 2);
    ScratchFolder scratch(base, "rotate");
    const std::string password = "benchmark passphrase";
    // Argon2id is not part of a rotation (it seals to public keys): a cheap cost makes the 10
    // accounts quickly.
    storage::Policy policy;
    policy.argon2MemoryBytes = 64 * 1024;
    policy.argon2Operations = 1;
    const fs::path dir = scratch.path() / "store";
    storage::Store::initialise(dir, "bench-admin", password, policy);
    const storage::Store store(dir, policy);
    auto session = store.login("bench-admin", password);
    for (int i = 1; i < users; ++i)
        storage::Users(session).add("bench-user-" + std::to_string(i), storage::Role::Annotator,
                                    password);

    auto start = Clock::now();
    {
        const imaging::Volume ct = noisyCt(slices);
            imaging::writeNiftiImage(ct, scratch.path() / "ct.nii.gz");
    }
    const auto imported = storage::importStudies(session, {scratch.path() / "ct.nii.gz"});
    if (imported.empty() || imported[0].status != storage::ImportStatus::Imported)
        throw CommandError("bench rotate: the generated CT was not imported (" +
                           (imported.empty() ? std::string("no result") : imported[0].reason) +
                           ")");
    fs::remove(scratch.path() / "ct.nii.gz");
    const double importSeconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    io.out << std::fixed << std::setprecision(2) << "store: generated CT 512x512x" << slices
           << " int16 (" << 512.0 * 512 * 2 * slices / 1e6 << " MB of voxels), " << users
           << " users; made and imported in " << importSeconds << " s\n";

    const storage::Keyring before = storage::Keyring::load(store.keyringPath());
    const storage::SecureBytes oldKey =
        before.unwrapWithPassword(before.userIdFor("bench-user-1"), password);
    const double cpuStart = cpuSeconds();
    start = Clock::now();
    int lastTenth = -1;
    const auto result = storage::rotateDatabaseKey(
        session, "bench rotate", [&](const std::string& stage, double fraction) {
            const int tenth = int(fraction * 10 + 1e-9);
            if (tenth > lastTenth) {
                lastTenth = tenth;
                io.err << "key rotation: " << tenth * 10 << "% (" << stage << ")" << std::endl;
            }
        });
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double cpu = cpuSeconds() - cpuStart;
    const double gigabytes = double(fs::file_size(store.databasePath())) / 1e9;
    session.logout();

    // The rotation holds: a remaining user opens the store, the old key opens nothing.
    {
        auto user = store.login("bench-user-" + std::to_string(users - 1), password);
    }
    auto admin = store.login("bench-admin", password);
    const bool studyThere = !storage::Studies(admin).list().empty();
    admin.logout();
    bool oldKeyOpens = true;
    try {
        storage::Database::open(store.databasePath(), &oldKey, false);
    } catch (const storage::StoreError&) {
        oldKeyOpens = false;
    }
    if (oldKeyOpens || !studyThere)
        throw CommandError(oldKeyOpens ? "bench rotate: the old key still opens the store"
                                       : "bench rotate: the study is missing after the rotation");

    io.out << "rotate: key version " << result.keyVersion << ", store.db " << gigabytes * 1000
           << " MB (" << result.databaseBytes / 4096 << " pages) in " << seconds << " s wall, "
           << cpu << " s CPU; " << seconds / gigabytes << " s per GB; sealed to "
           << result.sealedForUsers << " users + recovery key; old key opens nothing\n";
    return 0;
}

} // namespace
RADMARK_COMMAND("bench rotate",
                "[--slices N] [--users N] [--dir DIR]  key rotation of a store holding a "
                "generated 512x512xN CT (default 500) and N users (default 10): s, s/GB",
                runBenchRotate);
} // namespace radmark::cli
