#pragma once
// One thing wrong with a bundle: the file it concerns (relative to the bag, '/'-separated; the
// bag itself when empty) and what is wrong, in words.

#include <string>

namespace radmark::bundle {

struct BundleProblem {
    std::string file;
    std::string reason;
};

} // namespace radmark::bundle
