#pragma once
// The one JSON form of a version's chunk hashes: runs of [hex, count], since long stretches of
// empty slices share one hash. A version's record (Version.cpp) and the store service's save reply
// (app/cli) are both written by it; their readers stay apart (the channel's checks the counts).

#include "imaging/Chunks.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace radmark::annotation {

nlohmann::json chunkRunsJson(const std::vector<imaging::ChunkHash>& chunks);

} // namespace radmark::annotation
