// Every tool in one place: a new tool is one new file plus one line here.

#include "annotation/Tool.h"

#define RADMARK_TOOLS(TOOL)                                                                        \
    TOOL("paint", makePaintTool)                                                                   \
    TOOL("erase", makeEraseTool)                                                                   \
    TOOL("threshold-paint", makeThresholdPaintTool)                                                \
    TOOL("region-grow", makeRegionGrowTool)                                                        \
    TOOL("fill-between-slices", makeFillBetweenSlicesTool)                                         \
    TOOL("remove-islands", makeRemoveIslandsTool)                                                  \
    TOOL("keep-largest", makeKeepLargestTool)                                                      \
    TOOL("smooth-opening", makeOpeningTool)                                                        \
    TOOL("smooth-closing", makeClosingTool)                                                        \
    TOOL("smooth-median", makeMedianTool)                                                          \
    TOOL("hollow", makeHollowTool)                                                                 \
    TOOL("margin", makeMarginTool)

namespace radmark::annotation {

#define RADMARK_DECLARE_TOOL(name, factory) std::unique_ptr<Tool> factory();
RADMARK_TOOLS(RADMARK_DECLARE_TOOL)
#undef RADMARK_DECLARE_TOOL

namespace {
struct ToolEntry {
    const char* name;
    std::unique_ptr<Tool> (*create)();
};
#define RADMARK_TOOL_ENTRY(name, factory) ToolEntry{name, &factory},
const ToolEntry toolTable[] = {RADMARK_TOOLS(RADMARK_TOOL_ENTRY)};
#undef RADMARK_TOOL_ENTRY
} // namespace

std::unique_ptr<Tool> createTool(std::string_view name) {
    for (const auto& entry : toolTable) {
        if (name == entry.name)
            return entry.create();
    }
    throw ToolError("There is no tool called \"" + std::string(name) + "\".");
}

std::vector<std::string> toolNames() {
    std::vector<std::string> names;
    for (const auto& entry : toolTable)
        names.emplace_back(entry.name);
    return names;
}

} // namespace radmark::annotation
