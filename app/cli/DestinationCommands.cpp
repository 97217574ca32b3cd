// radmark-cli destinations: the site policy's export destinations, each with the decision Radmark
// takes for it now (allowed, or refused and why), so that IT can check a policy before anyone
// exports. --connect also logs in to each allowed share (encryption enforced) and checks that
// its folder is there, changing nothing.
// radmark-cli bench delivery: seconds to deliver one generated bundle folder to a local folder
// and to a private loopback smbd share, in one run.

#include "app/cli/BenchSupport.h"
#include "app/cli/Command.h"
#include "app/cli/StoreSession.h"
#include "delivery/DestinationWriter.h"
#ifdef RADMARK_BENCHMARKS // test builds only (app/CMakeLists.txt)
#include "delivery/loopback/LoopbackSamba.h"
#endif
#include "storage/Policy.h"
#include "workflow/DatasetExport.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>

namespace radmark::cli {
namespace {
namespace fs = std::filesystem;

std::string kindText(const delivery::Destination& d) {
    if (d.kind == delivery::Destination::Kind::SmbShare)
        return "SMB3 share";
    return d.local ? "local folder" : "network folder";
}

int runDestinations(Arguments& args, CommandIo& io) {
    args.declareFlags({"connect", "password-stdin"});
    args.allowOnly({"policy", "connect", "password-stdin"});
    std::optional<fs::path> policyFile;
    if (auto p = args.option("policy"))
        policyFile = *p;
    const storage::Policy policy = storage::Policy::load(policyFile);
    const auto list = workflow::exportDestinations(policy); // what the export dialog offers
    if (list.empty()) {
        io.out << "the site policy lists no export destinations: exports are not possible\n";
        return 0;
    }
    int refused = 0;
    for (const auto& [d, check] : list) {
        io.out << d.name << "\n"
               << "  " << kindText(d) << ": " << d.location() << "\n"
               << "  " << (check.allowed ? "allowed: " : "refused: ") << check.reason << "\n";
        if (!check.allowed) {
            ++refused;
            continue;
        }
        if (!args.flag("connect"))
            continue;
        try {
            auto writer = delivery::openWriter(d, {}, [&](const std::string& question) {
                return std::optional<std::string>(readSecret(args, io, question));
            });
            writer->probe();
            io.out << "  connected: "
                   << (d.kind == delivery::Destination::Kind::SmbShare
                           ? "logged in over SMB3 with encryption, the folder is there"
                           : "the folder is writable")
                   << "\n";
        } catch (const delivery::DeliveryError& e) {
            ++refused;
            io.out << "  not reachable: " << e.what() << "\n";
        }
    }
    return refused == 0 ? 0 : 1;
}

RADMARK_COMMAND("destinations",
                "[--policy FILE] [--connect [--password-stdin]]  the policy's export destinations "
                "and whether each is allowed now (and, with --connect, reachable)",
                runDestinations);

// -- bench delivery (test builds only: BUILD_TESTING defines RADMARK_BENCHMARKS) --
#ifdef RADMARK_BENCHMARKS

using Clock = std::chrono::steady_clock;

// A bundle-shaped folder of about megabytes MB: compressed-looking (random) files of a few sizes,
// like NIfTI images and labels, plus small tag files.
std::uint64_t generateBundle(const fs::path& root, std::uint64_t megabytes, int files) {
    std::mt19937_64 random(7);
    const std::uint64_t total = megabytes << 20;
    std::uint64_t written = 0;
    fs::create_directories(root / "data/imagesTr");
    fs::create_directories(root / "data/labelsTr");
    std::vector<char> buffer(1u << 20);
    for (int i = 0; i < files; ++i) {
        const bool image = i % 4 != 3;
        const std::uint64_t size = total / std::uint64_t(files);
        const fs::path file = root / "data" / (image ? "imagesTr" : "labelsTr") /
                              ("case_" + std::to_string(i) + (image ? "_0000" : "") + ".nii.gz");
        std::ofstream out(file, std::ios::binary);
        for (std::uint64_t done = 0; done < size;) {
            const std::size_t n = std::size_t(std::min<std::uint64_t>(buffer.size(), size - done));
            for (std::size_t k = 0; k + 8 <= n; k += 8) {
                const std::uint64_t v = random();
                std::memcpy(buffer.data() + k, &v, 8);
            }
            out.write(buffer.data(), std::streamsize(n));
            done += n;
        }
        written += size;
    }
    for (const char* tag :
         {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"}) {
        std::ofstream(root / tag) << "tag file\n";
    }
    return written;
}

std::string loadAverage() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

int runBenchDelivery(Arguments& args, CommandIo& io) {
    args.allowOnly({"megabytes", "files", "runs", "scratch"});
    const std::uint64_t megabytes = std::stoull(args.option("megabytes").value_or("150"));
    const int files = std::stoi(args.option("files").value_or("20"));
    const int runs = std::max(1, std::stoi(args.option("runs").value_or("3")));
    const fs::path scratchRoot =
        args.option("scratch").value_or(fs::temp_directory_path().string());
    ScratchFolder scratch(scratchRoot, "delivery");
    const fs::path bag = scratch.path() / "bag";
    const std::uint64_t bytes = generateBundle(bag, megabytes, files);

    fs::create_directories(scratch.path() / "local");
    delivery::Destination local;
    local.name = "bench local folder";
    local.kind = delivery::Destination::Kind::Folder;
    local.folder = scratch.path() / "local";
    local.local = true;

    delivery::LoopbackSamba server(
        delivery::LoopbackSamba::Options{true, scratch.path() / "share"});
    const fs::path credentials = scratch.path() / "share.credentials";
    server.writeCredentialsFile(credentials);
    delivery::Destination share;
    share.name = "bench loopback share";
    share.kind = delivery::Destination::Kind::SmbShare;
    share.smb = delivery::parseSmbUrl(server.url());
    share.credentialsFile = credentials;

    delivery::DeliveryEnvironment environment;
    environment.stagingRoot = scratch.path();
    auto localWriter = delivery::openWriter(local, environment);
    auto shareWriter = delivery::openWriter(share, environment);
    localWriter->prepare();
    shareWriter->prepare();

    io.out << "bench delivery: " << std::fixed << std::setprecision(1) << double(bytes) / (1 << 20)
           << " MB in " << files << " files (+4 tag files), median of " << runs << " runs\n"
           << "  load before: " << loadAverage() << "\n";
    std::vector<double> localTimes, shareTimes, localCpu, clientCpu, serverCpu;
    for (int run = 0; run < runs; ++run) {
        const std::string name = "bench-" + std::to_string(run);
        double cpu = cpuSeconds(RUSAGE_SELF);
        auto start = Clock::now();
        localWriter->deliver(bag, name);
        localTimes.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        localCpu.push_back(cpuSeconds(RUSAGE_SELF) - cpu);
        const double children = cpuSeconds(RUSAGE_CHILDREN);
        const double server0 = server.cpuSeconds();
        cpu = cpuSeconds(RUSAGE_SELF);
        start = Clock::now();
        shareWriter->deliver(bag, name);
        shareTimes.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        clientCpu.push_back(cpuSeconds(RUSAGE_SELF) - cpu + cpuSeconds(RUSAGE_CHILDREN) - children);
        serverCpu.push_back(server.cpuSeconds() - server0);
        fs::remove_all(local.folder / name);
        fs::remove_all(server.shareFolder() / name);
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    const double l = median(localTimes), s = median(shareTimes);
    const double mb = double(bytes) / (1 << 20);
    io.out << std::setprecision(3) << "  local folder (copy, fsync, rename): " << l << " s, "
           << std::setprecision(0) << mb / l << " MB/s, CPU " << std::setprecision(3)
           << median(localCpu) << " s\n"
           << "  loopback SMB3 share, encrypted (upload, read back "
           << "sizes, rename): " << s << " s, " << std::setprecision(0) << mb / s << " MB/s, CPU "
           << std::setprecision(3) << median(clientCpu) << " s here + " << median(serverCpu)
           << " s in smbd\n"
           << std::setprecision(2) << "  share / local: " << s / l << "x (goal <= 1.5x)\n"
           << "  load after: " << loadAverage() << "\n";
    return 0;
}

RADMARK_COMMAND("bench delivery",
                "[--megabytes 150] [--files 20] [--runs 3] [--scratch DIR]  seconds to deliver a "
                "generated bundle to a local folder and to a loopback SMB3 share",
                runBenchDelivery);
#endif // RADMARK_BENCHMARKS

} // namespace
} // namespace radmark::cli
