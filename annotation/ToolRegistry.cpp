// Every tool in one place: a new tool is one new file (a class and a function returning its
// ToolRegistration) plus one line in RADMARK_TOOLS below.
//
// The list is explicit on purpose. A tool that registered itself from a static object in its own
// file would silently vanish: the linker takes an object file out of a static library only when
// something references it, and nothing references a self-registering object. registerTool is for
// code outside the library (a test, a plugin), which calls it before the UI is built.

#include "annotation/Tool.h"

#include <algorithm>
#include <cctype>
#include <deque>

#define RADMARK_TOOLS(TOOL)                                                                        \
    TOOL(paintTool)                                                                                \
    TOOL(eraseTool)                                                                                \
    TOOL(thresholdPaintTool)                                                                       \
    TOOL(regionGrowTool)                                                                           \
    TOOL(box2DTool)                                                                                \
    TOOL(box3DTool)                                                                                \
    TOOL(fillBetweenSlicesTool)                                                                    \
    TOOL(removeIslandsTool)                                                                        \
    TOOL(keepLargestTool)                                                                          \
    TOOL(openingTool)                                                                              \
    TOOL(closingTool)                                                                              \
    TOOL(medianTool)                                                                               \
    TOOL(hollowTool)                                                                               \
    TOOL(marginTool)

namespace radmark::annotation {

#define RADMARK_DECLARE_TOOL(registration) ToolRegistration registration();
RADMARK_TOOLS(RADMARK_DECLARE_TOOL)
#undef RADMARK_DECLARE_TOOL

namespace {

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return text;
}

// The key text with its modifiers in one order and letters in one case, so "shift+ctrl+f" and
// "Ctrl+Shift+F" compare equal; throws ToolError for text that is not modifiers plus one key.
std::string comparableKey(const ToolDescription& tool) {
    static const std::string modifiers[] = {"ctrl", "alt", "shift", "meta"};
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t plus; (plus = tool.key.find('+', start)) != std::string::npos;
         start = plus + 1)
        parts.push_back(lowercase(tool.key.substr(start, plus - start)));
    parts.push_back(lowercase(tool.key.substr(start)));
    bool held[4] = {false, false, false, false};
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        const auto found = std::find(std::begin(modifiers), std::end(modifiers), parts[i]);
        if (found == std::end(modifiers) || held[found - std::begin(modifiers)]) {
            throw ToolError("Tool \"" + tool.name + "\" has the key \"" + tool.key +
                            "\", which is not modifiers (Ctrl, Alt, Shift, Meta) plus one key.");
        }
        held[found - std::begin(modifiers)] = true;
    }
    if (parts.back().empty() || std::find(std::begin(modifiers), std::end(modifiers),
                                          parts.back()) != std::end(modifiers)) {
        throw ToolError("Tool \"" + tool.name + "\" has the key \"" + tool.key +
                        "\", which names no key to press.");
    }
    std::string key;
    for (int m = 0; m < 4; ++m)
        if (held[m])
            key += modifiers[m] + "+";
    return key + parts.back();
}

// Adds `tool` unless it is incomplete or its name, title or key is taken by another tool.
void add(std::deque<ToolRegistration>& tools, ToolRegistration tool) {
    const ToolDescription& d = tool.description;
    if (d.name.empty() || d.title.empty() || d.hint.empty()) {
        throw ToolError("A tool needs a name, a title and a hint (tool \"" + d.name + "\").");
    }
    if ((d.kind == ToolKind::Box) == bool(tool.create)) {
        throw ToolError("Tool \"" + d.name +
                        (d.kind == ToolKind::Box ? "\" draws boxes and so makes no tool object."
                                                 : "\" has no way to make the tool."));
    }
    const std::string key = d.key.empty() ? std::string() : comparableKey(d);
    for (const ToolRegistration& other : tools) {
        const ToolDescription& o = other.description;
        if (o.name == d.name)
            throw ToolError("There is already a tool called \"" + d.name + "\".");
        if (o.title == d.title) {
            throw ToolError("Tool \"" + d.name + "\" has the title \"" + d.title + "\" of tool \"" +
                            o.name + "\"; the menu could not tell them apart.");
        }
        if (!key.empty() && !o.key.empty() && comparableKey(o) == key) {
            throw ToolError("The key " + d.key + " of tool \"" + d.name +
                            "\" already chooses tool \"" + o.name + "\" (" + o.title + ").");
        }
    }
    tools.push_back(std::move(tool));
}

// A deque: registering another tool leaves the descriptions findTool handed out in place.
std::deque<ToolRegistration>& registry() {
    static std::deque<ToolRegistration> tools = [] {
        std::deque<ToolRegistration> builtIn;
#define RADMARK_ADD_TOOL(registration) add(builtIn, registration());
        RADMARK_TOOLS(RADMARK_ADD_TOOL)
#undef RADMARK_ADD_TOOL
        return builtIn;
    }();
    return tools;
}

} // namespace

void registerTool(ToolRegistration registration) {
    add(registry(), std::move(registration));
}

std::vector<ToolDescription> toolDescriptions() {
    std::vector<ToolDescription> all;
    for (const ToolRegistration& tool : registry())
        all.push_back(tool.description);
    return all;
}

const ToolDescription* findTool(std::string_view name) {
    for (const ToolRegistration& tool : registry()) {
        if (tool.description.name == name)
            return &tool.description;
    }
    return nullptr;
}

std::unique_ptr<Tool> createTool(std::string_view name) {
    for (const ToolRegistration& entry : registry()) {
        if (entry.description.name != name)
            continue;
        if (!entry.create) {
            throw ToolError("\"" + entry.description.title +
                            "\" is drawn in the slice views and has no settings of its own.");
        }
        std::unique_ptr<Tool> tool = entry.create();
        tool->description_ = entry.description;
        return tool;
    }
    throw ToolError("There is no tool called \"" + std::string(name) + "\".");
}

std::vector<std::string> toolNames() {
    std::vector<std::string> names;
    for (const ToolRegistration& tool : registry()) {
        if (tool.create)
            names.push_back(tool.description.name);
    }
    return names;
}

} // namespace radmark::annotation
