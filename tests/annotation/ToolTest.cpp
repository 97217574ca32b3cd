// Every tool on small generated volumes, with the exact voxels it must produce.

#include "AnnotationTestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

using namespace radmark::annotation;
using namespace radmark::annotation::test;

TEST(AnnotationTools, RegistryKnowsEveryToolByName) {
    const auto names = toolNames();
    EXPECT_GE(names.size(), 12u);
    for (const auto& n : names)
        EXPECT_EQ(createTool(n)->name(), n);
    EXPECT_THROW(createTool("lasso"), ToolError);
}

namespace {

bool declares(const Tool& tool, std::string_view setting) {
    const auto& all = tool.settings().all();
    return std::any_of(all.begin(), all.end(),
                       [&](const ToolSetting& s) { return s.name == setting; });
}

// What ToolError says when `registration` is refused; empty when it was accepted.
std::string refusal(ToolRegistration registration) {
    try {
        registerTool(std::move(registration));
    } catch (const ToolError& error) {
        return error.what();
    }
    return {};
}

ToolRegistration pointerTool(std::string name, std::string title, std::string key) {
    ToolDescription d;
    d.name = std::move(name);
    d.title = std::move(title);
    d.hint = "Click in a slice view.";
    d.key = std::move(key);
    return {std::move(d), [] { return createTool("paint"); }};
}

} // namespace

TEST(AnnotationTools, EveryToolDescribesItselfAndWhatItDeclares) {
    const auto tools = toolDescriptions();
    ASSERT_EQ(tools.size(), toolNames().size() + 2) << "the two box tools make no Tool object";
    std::set<std::string> names, titles, keys;
    for (const ToolDescription& d : tools) {
        SCOPED_TRACE(d.name);
        EXPECT_FALSE(d.title.empty());
        EXPECT_FALSE(d.hint.empty());
        EXPECT_TRUE(names.insert(d.name).second) << "name used twice";
        EXPECT_TRUE(titles.insert(d.title).second) << "title used twice";
        if (!d.key.empty()) {
            EXPECT_TRUE(keys.insert(d.key).second) << "key " << d.key << " used twice";
        }
        ASSERT_NE(findTool(d.name), nullptr);
        EXPECT_EQ(findTool(d.name)->title, d.title);
        if (d.kind == ToolKind::Box) {
            EXPECT_THROW(createTool(d.name), ToolError);
            continue;
        }
        const auto tool = createTool(d.name);
        EXPECT_EQ(tool->description().title, d.title);
        EXPECT_EQ(tool->description().kind, d.kind);
        // What the description promises the viewer, the tool declares.
        EXPECT_EQ(declares(*tool, "radius_mm") && declares(*tool, "sphere"), d.brush);
        EXPECT_EQ(declares(*tool, "lower") && declares(*tool, "upper"), d.intensityRange);
        EXPECT_FALSE(d.box3D);
        if (d.kind != ToolKind::WholeSegment) {
            EXPECT_TRUE(d.needsOnSegment.empty());
        }
    }
    EXPECT_EQ(findTool("lasso"), nullptr);
}

// The keys and kinds radiologists know (README, Tools): B, E, T, G, X, Shift+X, Ctrl+Shift+F.
TEST(AnnotationTools, KeepsTheKeysAndKindsOfTheWorkstation) {
    const std::map<std::string, std::pair<std::string, ToolKind>> expected{
        {"paint", {"B", ToolKind::Pointer}},
        {"erase", {"E", ToolKind::Pointer}},
        {"threshold-paint", {"T", ToolKind::Pointer}},
        {"region-grow", {"G", ToolKind::Pointer}},
        {"box", {"X", ToolKind::Box}},
        {"box3d", {"Shift+X", ToolKind::Box}},
        {"fill-between-slices", {"Ctrl+Shift+F", ToolKind::WholeSegment}},
        {"remove-islands", {"", ToolKind::WholeSegment}},
        {"keep-largest", {"", ToolKind::WholeSegment}},
        {"smooth-opening", {"", ToolKind::WholeSegment}},
        {"smooth-closing", {"", ToolKind::WholeSegment}},
        {"smooth-median", {"", ToolKind::WholeSegment}},
        {"hollow", {"", ToolKind::WholeSegment}},
        {"margin", {"", ToolKind::WholeSegment}}};
    for (const auto& [name, keyAndKind] : expected) {
        const ToolDescription* d = findTool(name);
        ASSERT_NE(d, nullptr) << name;
        EXPECT_EQ(d->key, keyAndKind.first) << name;
        EXPECT_EQ(d->kind, keyAndKind.second) << name;
    }
    std::vector<std::string> brushes;
    for (const ToolDescription& d : toolDescriptions())
        if (d.brush)
            brushes.push_back(d.name);
    EXPECT_EQ(brushes, (std::vector<std::string>{"paint", "erase", "threshold-paint"}));
    EXPECT_TRUE(findTool("region-grow")->regrowsFromSeed);
    EXPECT_TRUE(findTool("box3d")->box3D);
    EXPECT_FALSE(findTool("box")->box3D);
}

TEST(AnnotationTools, RegistryRefusesADuplicateNameTitleOrKeyWithAClearMessage) {
    const std::size_t before = toolDescriptions().size();
    EXPECT_EQ(refusal(pointerTool("paint", "Lasso", "")),
              "There is already a tool called \"paint\".");
    EXPECT_EQ(refusal(pointerTool("lasso", "Paint", "")),
              "Tool \"lasso\" has the title \"Paint\" of tool \"paint\"; the menu could not "
              "tell them apart.");
    EXPECT_EQ(refusal(pointerTool("lasso", "Lasso", "B")),
              "The key B of tool \"lasso\" already chooses tool \"paint\" (Paint).");
    // Keys compare regardless of case and of the order of their modifiers.
    EXPECT_EQ(refusal(pointerTool("lasso", "Lasso", "shift+x")),
              "The key shift+x of tool \"lasso\" already chooses tool \"box3d\" (Box 3D).");
    EXPECT_EQ(refusal(pointerTool("lasso", "Lasso", "Shift+Ctrl+F")),
              "The key Shift+Ctrl+F of tool \"lasso\" already chooses tool \"fill-between-slices\" "
              "(Fill between slices).");
    EXPECT_NE(refusal(pointerTool("lasso", "Lasso", "Hyper+L")).find("not modifiers"),
              std::string::npos);
    EXPECT_NE(refusal(pointerTool("lasso", "Lasso", "Ctrl+")).find("names no key"),
              std::string::npos);
    ToolRegistration noHint = pointerTool("lasso", "Lasso", "");
    noHint.description.hint.clear();
    EXPECT_NE(refusal(std::move(noHint)).find("needs a name, a title and a hint"),
              std::string::npos);
    ToolRegistration nothingToMake = pointerTool("lasso", "Lasso", "");
    nothingToMake.create = nullptr;
    EXPECT_NE(refusal(std::move(nothingToMake)).find("no way to make the tool"), std::string::npos);
    EXPECT_EQ(toolDescriptions().size(), before) << "a refused tool is not half registered";
    EXPECT_THROW(registerTool(pointerTool("paint", "Paint", "B")), ToolError);
}

TEST(AnnotationTools, ARegisteredToolIsListedAndMadeWithItsDescription) {
    ASSERT_EQ(refusal(pointerTool("lasso", "Lasso", "Shift+K")), "");
    const auto tools = toolDescriptions();
    EXPECT_EQ(tools.back().name, "lasso") << "after the built-in tools";
    const std::vector<std::string> names = toolNames();
    EXPECT_EQ(names.back(), "lasso");
    EXPECT_EQ(createTool("lasso")->description().title, "Lasso");
    EXPECT_EQ(createTool("lasso")->name(), "lasso");
    EXPECT_EQ(refusal(pointerTool("lasso", "Lasso 2", "")),
              "There is already a tool called \"lasso\".");
    EXPECT_NE(refusal(pointerTool("lasso2", "Lasso 2", "shift+k")).find("already chooses"),
              std::string::npos);
}

TEST(AnnotationPaint, AxialDiscOfTwoMillimetres) {
    Editor e(grid({21, 21, 11}));
    auto paint = e.tool("paint");
    paint->settings().set("radius_mm", 2);
    click(*paint, {10, 10, 5});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const int dx = x - 10, dy = y - 10;
                             return Label(z == 5 && dx * dx + dy * dy <= 4 ? 1 : 0);
                         }),
              0u);
    EXPECT_EQ(e.labels.voxelCounts().at(1), 13u);
    const VoxelRegion dirty = paint->takeDirtyRegion();
    EXPECT_EQ(dirty.min, (Index3{8, 8, 5}));
    EXPECT_EQ(dirty.max, (Index3{12, 12, 5}));
}

TEST(AnnotationPaint, CoronalAndSagittalDiscsLieInTheirPlanes) {
    Editor e(grid({21, 21, 21}));
    auto paint = e.tool("paint");
    paint->settings().set("radius_mm", 1);
    click(*paint, {5, 10, 10}, SliceAxis::Coronal);
    click(*paint, {15, 10, 10}, SliceAxis::Sagittal);
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const bool coronal =
                                 y == 10 && std::abs(x - 5) + std::abs(z - 10) <= 1;
                             const bool sagittal =
                                 x == 15 && std::abs(y - 10) + std::abs(z - 10) <= 1;
                             return Label(coronal || sagittal ? 1 : 0);
                         }),
              0u);
}

TEST(AnnotationPaint, SphereHonoursAnisotropicSpacing) {
    Editor e(grid({21, 21, 11}, {0.5, 0.5, 2.0}));
    auto paint = e.tool("paint");
    paint->settings().set("radius_mm", 2);
    paint->settings().set("sphere", 1);
    click(*paint, {10, 10, 5});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const double dx = (x - 10) * 0.5, dy = (y - 10) * 0.5,
                                          dz = (z - 5) * 2.0;
                             return Label(dx * dx + dy * dy + dz * dz <= 4.0 ? 1 : 0);
                         }),
              0u);
    EXPECT_EQ(e.labels.voxelCounts().at(1), 51u); // 49 in the slice, the centre above and below
}

TEST(AnnotationPaint, DragStampsAlongTheWholeLine) {
    Editor e(grid({30, 20, 3}));
    auto paint = e.tool("paint");
    paint->settings().set("radius_mm", 1);
    paint->handle({PointerPhase::Press, {5, 10, 1}, SliceAxis::Axial});
    paint->handle({PointerPhase::Drag, {15, 10, 1}, SliceAxis::Axial});
    paint->handle({PointerPhase::Release, {20, 10, 1}, SliceAxis::Axial});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const bool line =
                                 z == 1 && ((y == 10 && x >= 4 && x <= 21) ||
                                            (std::abs(y - 10) == 1 && x >= 5 && x <= 20));
                             return Label(line ? 1 : 0);
                         }),
              0u);
    auto record = paint->takeUndoRecord();
    ASSERT_TRUE(record.has_value()); // one record for the whole drag
    EXPECT_FALSE(paint->takeUndoRecord().has_value());
}

TEST(AnnotationPaint, LockedSegmentsAreNotOverwrittenNorEditable) {
    Editor e(grid({11, 11, 3}));
    fillBox(e.labels, {0, 0, 1}, {4, 10, 1}, 2); // left half belongs to segment 2
    e.segments.setLocked(2, true);
    auto paint = e.tool("paint", 1);
    paint->settings().set("radius_mm", 3);
    click(*paint, {5, 5, 1});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             if (z != 1)
                                 return Label(0);
                             if (x <= 4)
                                 return Label(2);
                             const int dx = x - 5, dy = y - 5;
                             return Label(dx * dx + dy * dy <= 9 ? 1 : 0);
                         }),
              0u);
    auto eraseLocked = e.tool("erase", 2);
    EXPECT_THROW(eraseLocked->handle({PointerPhase::Press, {2, 5, 1}, SliceAxis::Axial}),
                 ToolError);
    EXPECT_EQ(e.labels.at(Index3{2, 5, 1}), 2);
}

TEST(AnnotationPaint, EraseRemovesOnlyTheActiveSegment) {
    Editor e(grid({11, 11, 3}));
    fillBox(e.labels, {0, 0, 1}, {10, 10, 1}, 1);
    fillBox(e.labels, {5, 0, 1}, {10, 10, 1}, 2);
    auto erase = e.tool("erase", 1);
    erase->settings().set("radius_mm", 2);
    click(*erase, {5, 5, 1});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             if (z != 1)
                                 return Label(0);
                             if (x >= 5)
                                 return Label(2);
                             const int dx = x - 5, dy = y - 5;
                             return Label(dx * dx + dy * dy <= 4 ? 0 : 1);
                         }),
              0u);
}

TEST(AnnotationPaint, ThresholdPaintKeepsToTheIntensityRange) {
    const auto g = grid({21, 21, 3});
    const auto img = image(g, [](int x, int, int) { return x * 10; });
    Editor e(g);
    auto paint = e.tool("threshold-paint", 1, &img);
    paint->settings().set("radius_mm", 4);
    paint->settings().set("lower", 80);
    paint->settings().set("upper", 110);
    click(*paint, {10, 10, 1});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             const int dx = x - 10, dy = y - 10;
                             return Label(
                                 z == 1 && dx * dx + dy * dy <= 16 && x >= 8 && x <= 11 ? 1 : 0);
                         }),
              0u);
    Editor noImage(g);
    EXPECT_THROW(noImage.tool("threshold-paint"), ToolError);
}

TEST(AnnotationRegionGrow, FillsTheConnectedRegionInRangeAndRetunes) {
    const auto g = grid({20, 20, 20});
    // Two bright cubes touching only along an edge (not 6-connected), and a dim shell.
    const auto img = image(g, [](int x, int y, int z) {
        if (inBox(x, y, z, {2, 2, 2}, {6, 6, 6}))
            return 100;
        if (inBox(x, y, z, {7, 7, 2}, {9, 9, 6}))
            return 100;
        if (inBox(x, y, z, {1, 1, 1}, {7, 7, 7}))
            return 60;
        return 0;
    });
    Editor e(g);
    auto grow = e.tool("region-grow", 2, &img);
    grow->settings().set("lower", 90);
    grow->settings().set("upper", 150);
    click(*grow, {4, 4, 4});
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {2, 2, 2}, {6, 6, 6}) ? 2 : 0);
                         }),
              0u);
    // Widening the range regrows from the same seed: the shell joins, and through it the
    // second cube, since the shell touches its faces.
    grow->settings().set("lower", 50);
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {1, 1, 1}, {7, 7, 7}) ||
                                                  inBox(x, y, z, {7, 7, 2}, {9, 9, 6})
                                              ? 2
                                              : 0);
                         }),
              0u);
    // Out of range at the seed: nothing, and no undo record.
    grow->settings().set("lower", 120);
    EXPECT_TRUE(e.labels.voxelCounts().empty());
    EXPECT_FALSE(grow->takeUndoRecord().has_value());
}

TEST(AnnotationFillBetweenSlices, IdenticalSlicesFillWithTheSameShape) {
    Editor e(grid({15, 15, 9}));
    fillBox(e.labels, {4, 4, 2}, {8, 8, 2}, 1);
    fillBox(e.labels, {4, 4, 6}, {8, 8, 6}, 1);
    auto fill = e.tool("fill-between-slices");
    EXPECT_TRUE(fill->apply());
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {4, 4, 2}, {8, 8, 6}) ? 1 : 0);
                         }),
              0u);
}

TEST(AnnotationFillBetweenSlices, GrowingSquareInterpolatesHalfwayAndSparesOtherSegments) {
    Editor e(grid({15, 15, 9}));
    fillBox(e.labels, {4, 4, 2}, {8, 8, 2}, 1);   // 5x5
    fillBox(e.labels, {2, 2, 6}, {10, 10, 6}, 1); // 9x9
    e.labels.set(Index3{6, 6, 4}, 2);             // another segment inside the gap
    auto fill = e.tool("fill-between-slices");
    fill->apply();
    EXPECT_EQ(mismatches(e.labels,
                         [&](int x, int y, int z) {
                             if (x == 6 && y == 6 && z == 4)
                                 return Label(2);
                             if (z == 2)
                                 return Label(inBox(x, y, z, {4, 4, 2}, {8, 8, 2}) ? 1 : 0);
                             if (z == 4)
                                 return Label(inBox(x, y, z, {3, 3, 4}, {9, 9, 4}) ? 1 : 0);
                             if (z == 6)
                                 return Label(inBox(x, y, z, {2, 2, 6}, {10, 10, 6}) ? 1 : 0);
                             return e.labels.at(Index3{x, y, z}); // z = 3, 5 checked below
                         }),
              0u);
    // Slices a quarter of the way are between the two squares in size.
    const auto count = [&](int z) {
        std::size_t n = 0;
        for (int y = 0; y < 15; ++y)
            for (int x = 0; x < 15; ++x)
                n += e.labels.at(Index3{x, y, z}) == 1;
        return n;
    };
    EXPECT_GE(count(3), 25u);
    EXPECT_LE(count(3), 49u);
    EXPECT_GE(count(5), 48u); // 49 minus the other segment's voxel never applies here
    EXPECT_LE(count(5), 81u);
    EXPECT_EQ(count(0) + count(1) + count(7) + count(8), 0u);
}

TEST(AnnotationIslands, RemoveSmallAndKeepLargest) {
    Editor e(grid({12, 12, 12}));
    fillBox(e.labels, {2, 2, 2}, {4, 4, 4}, 1);  // 27 voxels
    e.labels.set(Index3{9, 9, 9}, 1);            // 1 voxel
    fillBox(e.labels, {9, 2, 2}, {10, 2, 2}, 1); // 2 voxels
    e.labels.set(Index3{5, 5, 5}, 1);            // touches the cube only at a corner: separate
    auto islands = e.tool("remove-islands");
    islands->settings().set("minimum_voxels", 2);
    islands->apply();
    EXPECT_EQ(e.labels.voxelCounts().at(1), 29u);
    auto largest = e.tool("keep-largest");
    largest->apply();
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {2, 2, 2}, {4, 4, 4}) ? 1 : 0);
                         }),
              0u);
}

namespace {
// In a 5^3 cube at 3..7, voxels on at most one face: the cube without its edges and corners.
bool cubeWithoutEdges(int x, int y, int z) {
    if (!inBox(x, y, z, {3, 3, 3}, {7, 7, 7}))
        return false;
    const int onFaces = (x == 3 || x == 7) + (y == 3 || y == 7) + (z == 3 || z == 7);
    return onFaces <= 1;
}
} // namespace

TEST(AnnotationSmoothing, OpeningRemovesSpursAndCubeEdges) {
    Editor e(grid({11, 11, 11}));
    fillBox(e.labels, {3, 3, 3}, {7, 7, 7}, 1);
    e.labels.set(Index3{8, 3, 3}, 1); // a one-voxel spur off a corner
    auto open = e.tool("smooth-opening");
    open->settings().set("radius_mm", 1);
    open->apply();
    EXPECT_EQ(
        mismatches(e.labels, [](int x, int y, int z) { return Label(cubeWithoutEdges(x, y, z)); }),
        0u);
}

TEST(AnnotationSmoothing, ClosingFillsAHoleAndKeepsTheCube) {
    Editor e(grid({11, 11, 11}));
    fillBox(e.labels, {3, 3, 3}, {7, 7, 7}, 1);
    e.labels.set(Index3{5, 5, 5}, 0);
    auto close = e.tool("smooth-closing");
    close->settings().set("radius_mm", 1);
    close->apply();
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {3, 3, 3}, {7, 7, 7}));
                         }),
              0u);
}

TEST(AnnotationSmoothing, MedianRemovesIsolatedVoxelsAndCorners) {
    Editor e(grid({16, 16, 16}));
    fillBox(e.labels, {3, 3, 3}, {7, 7, 7}, 1);
    e.labels.set(Index3{12, 12, 12}, 1);
    auto median = e.tool("smooth-median");
    median->settings().set("radius_mm", 1);
    median->apply();
    EXPECT_EQ(
        mismatches(e.labels, [](int x, int y, int z) { return Label(cubeWithoutEdges(x, y, z)); }),
        0u);
}

TEST(AnnotationHollow, KeepsAOneVoxelShell) {
    Editor e(grid({11, 11, 11}));
    fillBox(e.labels, {3, 3, 3}, {7, 7, 7}, 1);
    auto hollow = e.tool("hollow");
    hollow->settings().set("thickness_mm", 1);
    hollow->apply();
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {3, 3, 3}, {7, 7, 7}) &&
                                          !inBox(x, y, z, {4, 4, 4}, {6, 6, 6}));
                         }),
              0u);
    EXPECT_EQ(e.labels.voxelCounts().at(1), 98u);
}

TEST(AnnotationMargin, GrowsAndShrinksInMillimetres) {
    Editor e(grid({11, 11, 11}, {1, 1, 3}));
    e.labels.set(Index3{5, 5, 5}, 1);
    auto margin = e.tool("margin");
    margin->settings().set("distance_mm", 1.5);
    margin->apply();
    // 1.5 mm reaches the 8 in-plane neighbours within sqrt(2) but not the 3 mm slices.
    EXPECT_EQ(mismatches(e.labels,
                         [](int x, int y, int z) {
                             return Label(z == 5 && std::abs(x - 5) <= 1 && std::abs(y - 5) <= 1);
                         }),
              0u);

    Editor cube(grid({11, 11, 11}));
    fillBox(cube.labels, {3, 3, 3}, {7, 7, 7}, 1);
    auto shrink = cube.tool("margin");
    shrink->settings().set("distance_mm", -1);
    shrink->apply();
    EXPECT_EQ(mismatches(cube.labels,
                         [](int x, int y, int z) {
                             return Label(inBox(x, y, z, {4, 4, 4}, {6, 6, 6}));
                         }),
              0u);
}

TEST(AnnotationTools, ReadOnlyLabelMapsRefuseEdits) {
    Editor e(grid({5, 5, 5}));
    e.labels.setReadOnly(true);
    auto paint = e.tool("paint");
    EXPECT_THROW(paint->handle({PointerPhase::Press, {2, 2, 2}, SliceAxis::Axial}),
                 ReadOnlyAnnotation);
    EXPECT_TRUE(e.labels.voxelCounts().empty());
}
