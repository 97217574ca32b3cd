#pragma once
// radmark-cli's face of a key rotation (store rotate-key, user disable): progress on stderr as
// the job runs, then what the rotation did on stdout.

#include "app/cli/Command.h"
#include "storage/KeyRotation.h"

namespace radmark::cli {

// Prints "key rotation: N% (stage)" lines on io.err, one per 10 percent.
storage::KeyRotationProgress rotationProgressPrinter(CommandIo& io);
// The new key version, time, size, and what the admin must do next (a new recovery key to keep
// offline, accounts that need a new password).
void reportRotation(const storage::KeyRotationResult& result, CommandIo& io);

} // namespace radmark::cli
