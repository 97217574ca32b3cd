#pragma once
// The one JSON form of a segment list, inside the annotation library: a version's record
// (Version.cpp) and the text that crosses the store service's channel (segmentsToJsonText) are
// both written by it.

#include "annotation/Segment.h"

#include <nlohmann/json.hpp>

namespace radmark::annotation {

nlohmann::json segmentsJson(const SegmentList& segments);

} // namespace radmark::annotation
