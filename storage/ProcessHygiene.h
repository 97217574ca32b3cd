#pragma once
// What every Radmark process that may hold a key or patient pixels does first: no core dumps
// (RLIMIT_CORE 0, soft and hard, and not dumpable, so no core, no ptrace attach by the same OS
// user, no /proc/PID/mem read), and owner-only modes for every file and folder it creates
// (umask 077). Key buffers are also kept out of dumps by sodium_malloc (MADV_DONTDUMP, locked).

#include <string>

namespace radmark::storage {

// Throws StoreError naming what could not be set; call it before any secret is read.
void hardenThisProcess();

// How this process stands, for tests and `radmark-cli info --process`: empty when hardened,
// else what is missing.
std::string processHygieneProblems();

} // namespace radmark::storage
