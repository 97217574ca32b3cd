#pragma once
// Accounts on the store: adding one (with its keyring entry), listing, disabling (its keyring
// entry goes and the database key is rotated), passwords, roles and the credentials a dataset
// bundle lists. Admin only, except that everyone changes their own password.

#include "storage/KeyRotation.h"
#include "storage/Session.h"

#include <optional>
#include <string>
#include <vector>

namespace radmark::storage {

// What a person annotating or reviewing is qualified as, entered by the admin on the account;
// dataset bundles list it (regulators ask who annotated, with what training).
struct Credentials {
    std::string title;         // role title, e.g. "Consultant radiologist"
    std::string qualification; // e.g. "FRCR, board-certified radiologist"
    int yearsOfExperience = 0;
    std::string trainingDate; // YYYY-MM-DD: trained on the labelling protocol
    std::string updated;      // UTC, when the admin entered them (kept by the store)
    std::string updatedBy;
    bool operator==(const Credentials&) const = default;
};

class Users {
  public:
    explicit Users(Session& session) : session_(session) {}

    void add(const std::string& name, Role role, const std::string& password);
    std::vector<UserInfo> list();
    // Not one's own. Marks the account disabled, deletes its keyring entry and rotates the
    // database key (storage/KeyRotation.h), so that a keyring she copied earlier opens nothing.
    // Throws StoreError when the rotation fails: the account is disabled all the same, and the
    // message says to rotate again.
    KeyRotationResult disable(const std::string& name, const KeyRotationProgress& progress = {});
    void changePassword(const std::string& name, const std::string& newPassword);
    void setRole(const std::string& name, Role role); // not one's own role
    // Logged "user credentials". Throws InvalidRequestError for an empty title or qualification,
    // years outside 0..80 or a training date that is not a past YYYY-MM-DD.
    void setCredentials(const std::string& name, const Credentials& credentials);
    std::optional<Credentials> credentials(const std::string& name);

  private:
    Session& session_;
};

} // namespace radmark::storage
