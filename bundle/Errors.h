#pragma once
// The one error of the bundle library: a bag that cannot be written, sealed, packed or encrypted.
// The message names the file and the cause and is meant to be shown as it is.

#include <stdexcept>
#include <string>

namespace radmark::bundle {

struct BundleError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace radmark::bundle
