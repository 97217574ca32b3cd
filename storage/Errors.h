#pragma once
// Errors a person can cause when using the store (wrong password, missing permission, a store
// from a newer Radmark, a damaged keyring). Each message is meant to be shown as it is.

#include <stdexcept>
#include <string>

namespace radmark::storage {

struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Wrong password, unknown or disabled account: deliberately one message for all three.
struct AuthenticationError : StoreError {
    using StoreError::StoreError;
};

// Too many failed logins: refused before any password is tried.
struct AccountLockedError : StoreError {
    using StoreError::StoreError;
};

// The logged-in role may not do this.
struct PermissionDeniedError : StoreError {
    using StoreError::StoreError;
};

// The session is locked (idle timeout or by hand) and must be unlocked first.
struct SessionLockedError : StoreError {
    using StoreError::StoreError;
};

// The store was written by a newer Radmark, or is not a Radmark store at all.
struct StoreVersionError : StoreError {
    using StoreError::StoreError;
};

// keyring missing, unreadable or altered.
struct KeyringError : StoreError {
    using StoreError::StoreError;
};

// A policy file that cannot be read or holds a value outside safe bounds.
struct PolicyError : StoreError {
    using StoreError::StoreError;
};

// Input that breaks a rule (password too short, unknown role, duplicate name, ...).
struct InvalidRequestError : StoreError {
    using StoreError::StoreError;
};

} // namespace radmark::storage
