#pragma once
// What can go wrong on the way to a destination, as typed errors whose message is a sentence to
// show as it is and to log in the access log ("export refused" with what()).

#include <stdexcept>
#include <string>

namespace radmark::delivery {

struct DeliveryError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The destination may not receive exports: not in the policy, not an encrypted network mount,
// removable medium, credentials file others can read, a share that does not encrypt or speak
// SMB3. Nothing was written.
struct DestinationRefused : DeliveryError {
    explicit DestinationRefused(const std::string& reason) : DeliveryError(reason) {}
    std::string reason() const { return what(); }
};

// A delivery that started and failed; the unfinished copy was removed (or, when the share went
// away, is removed by the next delivery to it). problem says what to offer the user next.
enum class DeliveryProblem {
    Unreachable,    // host unknown, port closed, no answer
    Authentication, // wrong user name or password, account locked or disabled
    AccessDenied,   // the account may not write at the destination
    NoSpace,        // destination full or over quota
    ConnectionLost, // the share dropped the connection, or the mount stopped answering
    AlreadyExists,  // a bundle of that name is already there (never overwritten)
    Cancelled,      // the user cancelled, or gave no password
    InvalidBundle,  // the staged folder holds something that cannot be delivered
    Other
};

struct DeliveryFailed : DeliveryError {
    DeliveryFailed(DeliveryProblem problem, const std::string& message)
        : DeliveryError(message), problem(problem) {}
    DeliveryProblem problem;
};

} // namespace radmark::delivery
