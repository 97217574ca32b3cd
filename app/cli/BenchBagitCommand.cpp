// radmark-cli bench bagit [--megabytes N] [--files N] [--dir D] [--repeat N]: how fast the
// bundle hashes its payload, against sha256sum on the same files in the same run. Generated
// files only (a 300-slice 512x512 int16 series is 157 MB); page cache warm for every contender.
// Also times libsodium's SHA-256 (the alternative not chosen), a whole sealBag and a
// verifyBundle of the same bag.

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "bundle/Seal.h"
#include "bundle/Sha256.h"
#include "bundle/Verify.h"
#include "storage/AuditLog.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <random>

namespace radmark::cli {
namespace {

namespace fs = std::filesystem;
using Clock = BenchClock;

std::vector<fs::path> generatePayload(const fs::path& folder, std::size_t files,
                                      std::size_t bytesEach) {
    fs::create_directories(folder);
    std::mt19937_64 random(11);
    std::vector<std::uint64_t> words(bytesEach / 8 + 1);
    std::vector<fs::path> paths;
    for (std::size_t i = 0; i < files; ++i) {
        for (auto& w : words)
            w = random();
        char name[32];
        std::snprintf(name, sizeof name, "slice-%04zu.dcm", i);
        paths.push_back(folder / name);
        std::ofstream out(paths.back(), std::ios::binary);
        out.write(reinterpret_cast<const char*>(words.data()), std::streamsize(bytesEach));
        if (!out)
            throw CommandError("cannot write the scratch file " + paths.back().string());
    }
    return paths;
}

double sodiumSeconds(const std::vector<fs::path>& paths) {
    std::vector<unsigned char> buffer(1 << 20);
    const auto start = Clock::now();
    for (const auto& p : paths) {
        std::ifstream in(p, std::ios::binary);
        crypto_hash_sha256_state state;
        crypto_hash_sha256_init(&state);
        while (in.read(reinterpret_cast<char*>(buffer.data()), std::streamsize(buffer.size())) ||
               in.gcount() > 0)
            crypto_hash_sha256_update(&state, buffer.data(), std::size_t(in.gcount()));
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256_final(&state, digest);
    }
    return secondsSince(start);
}

std::string benchCheckpoint(const unsigned char* secretKey, const unsigned char* publicKey) {
    storage::Checkpoint c;
    c.storeId.assign(16, 7);
    c.treeSize = 1;
    c.root.assign(32, 1);
    c.time = "2026-01-01T00:00:00.000Z";
    c.publicKey.assign(publicKey, publicKey + crypto_sign_PUBLICKEYBYTES);
    const std::string m = c.signedMessage();
    c.signature.resize(crypto_sign_BYTES);
    crypto_sign_detached(c.signature.data(), nullptr,
                         reinterpret_cast<const unsigned char*>(m.data()), m.size(), secretKey);
    return c.toJson();
}

int runBenchBagit(Arguments& args, CommandIo& io) {
    args.allowOnly({"megabytes", "files", "dir", "repeat"});
    const double megabytes = std::stod(args.option("megabytes").value_or("157.3"));
    const std::size_t files = std::stoul(args.option("files").value_or("300"));
    const int repeat = std::max(1, std::stoi(args.option("repeat").value_or("5")));
    const fs::path root =
        args.option("dir") ? fs::path(*args.option("dir")) : fs::temp_directory_path();
    if (sodium_init() < 0)
        throw CommandError("libsodium could not start");
    ScratchFolder scratch(root, "bagit");
    const fs::path bag = scratch.path() / "bag";
    const std::size_t bytesEach = std::size_t(megabytes * 1e6 / double(files));
    const auto paths = generatePayload(bag / "data" / "series", files, bytesEach);
    const double totalMb = double(bytesEach) * double(files) / 1e6;

    std::vector<std::string> sha256sum = {"sha256sum"};
    for (const auto& p : paths)
        sha256sum.push_back(p.string());
    runExternal(sha256sum, "Debian package coreutils"); // warms the page cache
    std::vector<double> reference, one, two, sodium;
    for (int i = 0; i < repeat; ++i) {
        reference.push_back(runExternal(sha256sum, "Debian package coreutils").seconds);
        auto start = Clock::now();
        bundle::sha256Files(paths, 1);
        one.push_back(secondsSince(start));
        start = Clock::now();
        bundle::sha256Files(paths, 2);
        two.push_back(secondsSince(start));
        if (i < 2)
            sodium.push_back(sodiumSeconds(paths));
    }

    unsigned char publicKey[crypto_sign_PUBLICKEYBYTES];
    std::vector<unsigned char> secretKey(crypto_sign_SECRETKEYBYTES);
    crypto_sign_keypair(publicKey, secretKey.data());
    bundle::BagSeal seal;
    seal.info = {"2026-01-01", "Radmark bench", {}};
    seal.auditCheckpointJson = benchCheckpoint(secretKey.data(), publicKey);
    auto start = Clock::now();
    bundle::sealBag(bag, seal, secretKey);
    const double sealSeconds = secondsSince(start);
    sodium_memzero(secretKey.data(), secretKey.size());
    start = Clock::now();
    const auto report = bundle::verifyBundle(bag, {});
    const double verifySeconds = secondsSince(start);
    if (!report.ok())
        throw CommandError("the bench bag did not verify: " + report.problems.front().reason);

    const double ref = median(reference);
    auto line = [&](const std::string& what, double seconds) {
        io.out << "  " << std::left << std::setw(32) << what << std::right << std::setprecision(3)
               << std::setw(7) << seconds << " s " << std::setprecision(0) << std::setw(6)
               << totalMb / seconds << " MB/s " << std::setw(5) << 100 * ref / seconds
               << " % of sha256sum\n";
    };
    io.out << std::fixed << std::setprecision(3);
    io.out << "bench bagit: " << files << (files == 1 ? " file, " : " files, ")
           << std::setprecision(1) << totalMb << " MB, page cache warm, median of " << repeat
           << std::setprecision(3) << "\n";
    line("sha256sum (coreutils)", ref);
    line("bundle sha256Files, 1 thread", median(one));
    line("bundle sha256Files, 2 threads", median(two));
    line("libsodium SHA-256, 1 thread", median(sodium));
    line("sealBag (manifests, sign)", sealSeconds);
    line("verifyBundle", verifySeconds);
    return 0;
}

} // namespace
RADMARK_COMMAND("bench bagit",
                "[--megabytes 157.3] [--files 300] [--dir D] [--repeat 5]  bundle hashing "
                "against sha256sum",
                runBenchBagit);
} // namespace radmark::cli
