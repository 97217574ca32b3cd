// For shell tests: runs delivery's LoopbackSamba (a private smbd on 127.0.0.1, SMB3 only,
// encryption required, or off with --no-encryption) until SIGTERM or SIGINT, then stops it.
// Writes into DIR: url (smb://127.0.0.1:PORT/bundles), port, share (the served folder) and
// credentials (a Samba authentication file, mode 0600), then ready, last.
// Usage: loopback-smbd DIR [--no-encryption]

#include "delivery/loopback/LoopbackSamba.h"

#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {
volatile std::sig_atomic_t stopRequested = 0;
void onStop(int) {
    stopRequested = 1;
}
} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: loopback-smbd DIR [--no-encryption]\n";
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    radmark::delivery::LoopbackSamba::Options options;
    for (int i = 2; i < argc; ++i)
        if (std::strcmp(argv[i], "--no-encryption") == 0)
            options.requireEncryption = false;
    struct sigaction action {};
    action.sa_handler = onStop;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
    try {
        std::filesystem::create_directories(dir);
        radmark::delivery::LoopbackSamba server(options);
        std::ofstream(dir / "url") << server.url() << "\n";
        std::ofstream(dir / "port") << server.port() << "\n";
        std::ofstream(dir / "share") << server.shareFolder().string() << "\n";
        std::ofstream(dir / "user") << server.user() << "\n";
        server.writeCredentialsFile(dir / "credentials");
        std::ofstream(dir / "ready") << "ready\n";
        while (!stopRequested)
            ::pause();
        server.stop();
    } catch (const std::exception& e) {
        std::cerr << "loopback-smbd: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
