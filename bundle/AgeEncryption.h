#pragma once
// Encrypting a sealed bag to a recipient's public key with the `age` program (Debian's age
// 1.1), so that the recipient decrypts with age (or any implementation of its format) and no
// home-made cryptography is involved: the bag goes as a deterministic tar stream
// (bundle/DeterministicTar.h) into age's standard input; age runs as a child process with an
// empty environment and no inherited file descriptors, and writes the output file Radmark
// opened. The result, e.g. bundle.tar.age, is complete or absent.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace radmark::bundle {

struct AgeRecipients {
    std::vector<std::string> recipients;               // age -r (age1..., ssh-ed25519 ...)
    std::vector<std::filesystem::path> recipientFiles; // age -R
};

struct AgeOptions {
    std::filesystem::path agePath = "/usr/bin/age"; // never looked up in PATH
    std::int64_t tarMtime = 0;
};

// Writes output (mode 0600) through output.partial, renamed when age succeeded; throws
// BundleError with age's own message when it fails (no recipient, a malformed one, ...).
void encryptBagWithAge(const std::filesystem::path& bag, const std::filesystem::path& output,
                       const AgeRecipients& recipients, const AgeOptions& options = {});

} // namespace radmark::bundle
