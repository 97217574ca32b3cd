#pragma once
// Rotating the database key (issue 13, item 3): a new random key, SQLCipher's rekey of every
// page of store.db, and the new key sealed to every remaining user's public key and to the
// recovery key's (storage/Keyring.h), without anyone's password. A keyring copied before the
// rotation, with its passwords, opens nothing afterwards. Users::disable rotates; an admin also
// runs it on its own (radmark-cli store rotate-key, the GUI's Admin panel).
//
// Crash safety (a SIGKILL at any moment leaves a store that opens with the old or the new key):
//   1. the keyring is saved with the new key sealed as the PENDING version beside the current one;
//   2. PRAGMA rekey rewrites every page in ONE write transaction; in WAL mode (the store's) the new
//      pages go to the WAL and only its commit frame makes them current: before it the old key
//      opens the store, after it the new one (the WAL holds every page until the checkpoint has
//      copied them all into store.db and truncated it);
//   3. the keyring is saved with the pending version made current and the old one dropped.
// A login that finds a pending version opens the database with the key that works and finishes
// (or undoes) the keyring's step 3, logged as "key rotation". The whole rotation holds the store
// folder's lock, so no login decides that while a rotation runs.

#include "storage/SecureBytes.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace radmark::storage {

class Session;

struct KeyRotationResult {
    int keyVersion = 0; // the new key's version
    std::uint64_t databaseBytes = 0;
    double seconds = 0;
    int sealedForUsers = 0; // user key pairs that received the new key
    // Accounts whose keyring entry is still of format 1 (no key pair: not logged in since the
    // upgrade): they cannot be given the new key and need a new password (user passwd NAME).
    std::vector<std::string> usersLeftOut;
    // Set when the recovery entry was of format 1: a new recovery key, to be kept offline (the old
    // one opens nothing now). Empty otherwise: the existing recovery key opens the new key.
    SecureBytes newRecoveryKey;
};

// stage is "sealing", "rekeying", "writing" or "done"; fraction of the whole job, 0 to 1. May be
// called from another thread than the caller's (the rekey runs in the caller's thread).
using KeyRotationProgress = std::function<void(const std::string& stage, double fraction)>;

// Admin only (Action::RotateDatabaseKey); logged "key rotation requested" (with the reason) and
// "key rotation completed" (with the new key version). Other sessions open on the store at the
// time must log in again. Throws PermissionDeniedError, StoreError (the rotation then is undone: the
// old key still opens the store).
KeyRotationResult rotateDatabaseKey(Session& session, const std::string& reason,
                                    const KeyRotationProgress& progress = {});

} // namespace radmark::storage
