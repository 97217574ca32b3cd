// Consensus against code written here: the vote against a plain count per voxel (ties by the
// stated rule), STAPLE against a voxel-by-voxel EM over the whole grid (Warfield's formulas for
// one segment, Rohlfing's for several), probabilities within 1e-6.

#include "annotation/Consensus.h"
#include "AgreementShapes.h"
#include "annotation/Agreement.h"

#include <gtest/gtest.h>

#include <random>

using namespace radmark;
using namespace radmark::annotation;
using namespace radmark::annotation::test;

namespace {

constexpr double kProbabilityTolerance = 1e-6;

// Noisy copies of one truth: each voxel's label is replaced with probability `error` by a random
// label in [0, labels], and the truth is a few overlapping blobs.
struct Raters {
    imaging::Geometry grid = obliqueGrid({24, 20, 12});
    LabelMap truth{grid};
    std::vector<LabelMap> maps;
    Raters(int count, int labels, std::vector<double> errors, unsigned seed = 7) {
        for (int l = 1; l <= labels; ++l)
            paintRaggedBlob(truth, Label(l), seed + unsigned(l), 3, 0.0);
        std::mt19937 random(seed);
        std::uniform_real_distribution<double> unit(0, 1);
        std::uniform_int_distribution<int> anyLabel(0, labels);
        for (int r = 0; r < count; ++r) {
            LabelMap m = truth;
            for (std::size_t i = 0; i < m.voxelCount(); ++i)
                if (unit(random) < errors[std::size_t(r)])
                    m.set(i, Label(anyLabel(random)));
            maps.push_back(std::move(m));
        }
    }
    std::vector<const LabelMap*> pointers() const {
        std::vector<const LabelMap*> out;
        for (const LabelMap& m : maps)
            out.push_back(&m);
        return out;
    }
};

// The vote as a person would count it: tally each label, take the most, the lowest on a tie.
Label countedVote(const std::vector<Label>& said) {
    std::map<Label, int> tally;
    for (Label l : said)
        ++tally[l];
    Label best = 0;
    int most = -1;
    for (const auto& [label, n] : tally) // ascending labels: the first maximum is the lowest
        if (n > most) {
            most = n;
            best = label;
        }
    return best;
}

// Voxel-by-voxel STAPLE over the whole grid with classes `classes` (classes[0] = 0): labels not
// in `classes` count as background.
struct VoxelwiseStaple {
    std::vector<std::vector<std::vector<double>>> theta; // [rater][said][truth]
    std::vector<std::vector<double>> W;                  // [voxel][truth]
    int iterations = 0;
};

VoxelwiseStaple voxelwiseStaple(const std::vector<LabelMap>& maps,
                                const std::vector<Label>& classes) {
    const std::size_t N = maps.size(), K = classes.size(), V = maps[0].voxelCount();
    auto classOf = [&](Label l) {
        for (std::size_t k = 1; k < K; ++k)
            if (classes[k] == l)
                return k;
        return std::size_t(0);
    };
    std::vector<std::vector<std::size_t>> D(N, std::vector<std::size_t>(V));
    for (std::size_t r = 0; r < N; ++r)
        for (std::size_t i = 0; i < V; ++i)
            D[r][i] = classOf(maps[r].at(i));
    VoxelwiseStaple s;
    s.W.assign(V, std::vector<double>(K, 0));
    for (std::size_t i = 0; i < V; ++i)
        for (std::size_t r = 0; r < N; ++r)
            s.W[i][D[r][i]] += 1.0 / double(N);
    std::vector<double> prior(K, 0);
    for (std::size_t i = 0; i < V; ++i)
        for (std::size_t t = 0; t < K; ++t)
            prior[t] += s.W[i][t] / double(V);
    s.theta.assign(N, std::vector<std::vector<double>>(K, std::vector<double>(K, 0)));
    auto previous = s.theta;
    for (int iteration = 0; iteration < 10000; ++iteration) {
        for (std::size_t r = 0; r < N; ++r)
            for (std::size_t t = 0; t < K; ++t) {
                double denominator = 0;
                std::vector<double> numerator(K, 0);
                for (std::size_t i = 0; i < V; ++i) {
                    numerator[D[r][i]] += s.W[i][t];
                    denominator += s.W[i][t];
                }
                for (std::size_t k = 0; k < K; ++k)
                    s.theta[r][k][t] = numerator[k] / denominator;
            }
        for (std::size_t i = 0; i < V; ++i) {
            double sum = 0;
            for (std::size_t t = 0; t < K; ++t) {
                s.W[i][t] = prior[t];
                for (std::size_t r = 0; r < N; ++r)
                    s.W[i][t] *= s.theta[r][D[r][i]][t];
                sum += s.W[i][t];
            }
            for (std::size_t t = 0; t < K; ++t)
                s.W[i][t] /= sum;
        }
        s.iterations = iteration + 1;
        double change = 0;
        for (std::size_t r = 0; r < N; ++r)
            for (std::size_t a = 0; a < K; ++a)
                for (std::size_t b = 0; b < K; ++b)
                    change = std::max(change, std::abs(s.theta[r][a][b] - previous[r][a][b]));
        if (iteration > 0 && change <= 1e-7)
            break;
        previous = s.theta;
    }
    return s;
}

} // namespace

TEST(Consensus, MultiLabelVoteEqualsACountPerVoxel) {
    for (int raters : {2, 3, 4, 5}) {
        const Raters r(raters, 3, std::vector<double>(std::size_t(raters), 0.3));
        const LabelMap vote = majorityVote(r.pointers());
        std::size_t wrong = 0, ties = 0;
        for (std::size_t i = 0; i < vote.voxelCount(); ++i) {
            std::vector<Label> said;
            for (const LabelMap& m : r.maps)
                said.push_back(m.at(i));
            wrong += vote.at(i) != countedVote(said);
            std::map<Label, int> tally;
            for (Label l : said)
                ++tally[l];
            int most = 0, mostCount = 0;
            for (const auto& [l, n] : tally)
                if (n > most) {
                    most = n;
                    mostCount = 1;
                } else if (n == most) {
                    ++mostCount;
                }
            ties += mostCount > 1;
        }
        EXPECT_EQ(wrong, 0u) << raters << " raters";
        EXPECT_GT(ties, 0u) << "the case should exercise the tie rule";
    }
}

TEST(Consensus, OneSegmentVoteNeedsStrictlyMoreThanHalf) {
    imaging::Geometry g;
    g.dims = {6, 1, 1};
    std::vector<LabelMap> maps(4, LabelMap(g));
    // voxel x: how many of the 4 annotators mark it as segment 2 (others mark 1 or nothing).
    const int marks[6] = {0, 1, 2, 3, 4, 2};
    for (int x = 0; x < 6; ++x)
        for (int r = 0; r < marks[x]; ++r)
            maps[std::size_t(r)].set(Index3{x, 0, 0}, 2);
    maps[3].set(Index3{5, 0, 0}, 1);
    std::vector<const LabelMap*> all = {&maps[0], &maps[1], &maps[2], &maps[3]};
    const LabelMap four = majorityVote(all, 2);
    const Label expectFour[6] = {0, 0, 0, 2, 2, 0}; // 2 of 4 is a tie: background
    for (int x = 0; x < 6; ++x)
        EXPECT_EQ(four.at(Index3{x, 0, 0}), expectFour[x]) << x;
    const LabelMap two = majorityVote({&maps[0], &maps[1]}, 2);
    const Label expectTwo[6] = {0, 0, 2, 2, 2, 2}; // 1 of 2 (x = 1) is a tie: background
    for (int x = 0; x < 6; ++x)
        EXPECT_EQ(two.at(Index3{x, 0, 0}), expectTwo[x]) << x;
    // Multi-label at x = 5: votes 2, 2, 0, 1 -> 2; at x = 1 with two annotators: 2 vs 0 -> 0.
    EXPECT_EQ(majorityVote(all).at(Index3{5, 0, 0}), 2);
    EXPECT_EQ(majorityVote({&maps[0], &maps[1]}).at(Index3{1, 0, 0}), 0);
    // Labels 1 and 2 tied, no background vote: the lower label wins.
    LabelMap a(g), b(g);
    a.set(Index3{0, 0, 0}, 2);
    b.set(Index3{0, 0, 0}, 1);
    EXPECT_EQ(majorityVote({&a, &b}).at(Index3{0, 0, 0}), 1);
}

TEST(Consensus, BinaryStapleEqualsAVoxelwiseEmOverTheWholeGrid) {
    const Raters r(3, 2, {0.05, 0.15, 0.3});
    const StapleResult ours = staple(r.pointers(), 2);
    const VoxelwiseStaple reference = voxelwiseStaple(r.maps, {0, 2});
    ASSERT_TRUE(ours.converged);
    EXPECT_EQ(ours.iterations, reference.iterations);
    ASSERT_EQ(ours.performance.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_NEAR(ours.performance[k][0].sensitivity, reference.theta[k][1][1],
                    kProbabilityTolerance);
        EXPECT_NEAR(ours.performance[k][0].specificity, reference.theta[k][0][0],
                    kProbabilityTolerance);
    }
    std::printf("binary STAPLE: %d iterations; sensitivity %.4f %.4f %.4f, specificity %.4f %.4f "
                "%.4f\n",
                ours.iterations, ours.performance[0][0].sensitivity,
                ours.performance[1][0].sensitivity, ours.performance[2][0].sensitivity,
                ours.performance[0][0].specificity, ours.performance[1][0].specificity,
                ours.performance[2][0].specificity);
    // The best annotator is the most sensitive.
    EXPECT_GT(ours.performance[0][0].sensitivity, ours.performance[2][0].sensitivity);
    std::size_t wrong = 0, decided = 0;
    for (std::size_t i = 0; i < ours.labels.voxelCount(); ++i) {
        const double w = reference.W[i][1];
        if (std::abs(w - 0.5) < kProbabilityTolerance)
            continue;
        ++decided;
        wrong += ours.labels.at(i) != (w > 0.5 ? 2 : 0);
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_GT(decided, ours.labels.voxelCount() * 9 / 10);
    for (std::size_t i = 0; i < ours.labels.voxelCount(); ++i)
        ASSERT_TRUE(ours.labels.at(i) == 0 || ours.labels.at(i) == 2);
}

TEST(Consensus, MultiLabelStapleEqualsAVoxelwiseEm) {
    const Raters r(4, 3, {0.05, 0.1, 0.2, 0.35});
    const StapleResult ours = staple(r.pointers());
    ASSERT_EQ(ours.classes, (std::vector<Label>{0, 1, 2, 3}));
    const VoxelwiseStaple reference = voxelwiseStaple(r.maps, ours.classes);
    ASSERT_TRUE(ours.converged);
    EXPECT_EQ(ours.iterations, reference.iterations);
    for (std::size_t k = 0; k < 4; ++k)
        for (std::size_t s = 0; s < 4; ++s)
            for (std::size_t t = 0; t < 4; ++t)
                EXPECT_NEAR(ours.confusion[k][s][t], reference.theta[k][s][t],
                            kProbabilityTolerance);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < ours.labels.voxelCount(); ++i) {
        const auto& w = reference.W[i];
        std::size_t best = 0;
        for (std::size_t t = 1; t < 4; ++t)
            if (w[t] > w[best])
                best = t;
        wrong += ours.labels.at(i) != ours.classes[best];
    }
    EXPECT_EQ(wrong, 0u);
    // STAPLE recovers the truth better than the worst annotator does.
    std::size_t stapleErrors = 0, worstErrors = 0;
    for (std::size_t i = 0; i < r.truth.voxelCount(); ++i) {
        stapleErrors += ours.labels.at(i) != r.truth.at(i);
        worstErrors += r.maps[3].at(i) != r.truth.at(i);
    }
    EXPECT_LT(stapleErrors, worstErrors / 4);
    std::printf("multi-label STAPLE: %d iterations, %zu wrong voxels (worst annotator %zu)\n",
                ours.iterations, stapleErrors, worstErrors);
}

TEST(Consensus, EmptyAnnotationsGiveAnEmptyConsensus) {
    const imaging::Geometry g = obliqueGrid({10, 10, 4});
    const LabelMap a(g), b(g), c(g);
    EXPECT_TRUE(majorityVote({&a, &b}).voxelCounts().empty());
    EXPECT_TRUE(majorityVote({&a, &b}, 1).voxelCounts().empty());
    const StapleResult s = staple({&a, &b, &c}, 1);
    EXPECT_TRUE(s.labels.voxelCounts().empty());
    EXPECT_TRUE(staple({&a, &b}).labels.voxelCounts().empty());
    EXPECT_EQ(s.labels.geometry().dims, g.dims);
}

TEST(Consensus, RefusesFewerThanTwoAndDifferentGrids) {
    const imaging::Geometry g = obliqueGrid({10, 10, 4});
    imaging::Geometry other = g;
    other.spacing[0] = 0.5;
    const LabelMap a(g), b(g), c(other);
    EXPECT_THROW(majorityVote({&a}), ConsensusError);
    EXPECT_THROW(staple({&a}, 1), ConsensusError);
    EXPECT_THROW(majorityVote({&a, nullptr}), ConsensusError);
    EXPECT_THROW(majorityVote({&a, &b}, 0), ConsensusError);
    try {
        staple({&a, &b, &c});
        FAIL() << "different grids combined";
    } catch (const ConsensusError& e) {
        EXPECT_NE(std::string(e.what()).find("Annotation 3"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("voxel spacing"), std::string::npos) << e.what();
    }
}

TEST(Consensus, DefinitionsStateTheTieRule) {
    EXPECT_NE(majorityVoteDefinition().find("lowest label"), std::string::npos);
    EXPECT_NE(stapleDefinition().find("0.5"), std::string::npos);
}

TEST(Consensus, StapleOfCompactShapesCountsTheVoxelsOutsideTheirBoxAsBackground) {
    // Three shifted spheres in a corner of the grid: our EM sees their bounding box plus one count
    // for the rest of the grid; the voxelwise EM sees every voxel. Same numbers.
    const imaging::Geometry g = obliqueGrid({40, 36, 14});
    std::vector<LabelMap> maps(3, LabelMap(g));
    const imaging::Vec3 corner = g.indexToLps({10, 10, 4});
    for (int r = 0; r < 3; ++r)
        paintSphere(maps[std::size_t(r)], 4, {corner[0] + r, corner[1] - r, corner[2]},
                    4.0 + 0.7 * r);
    const StapleResult ours = staple({&maps[0], &maps[1], &maps[2]}, 4);
    const VoxelwiseStaple reference = voxelwiseStaple(maps, {0, 4});
    ASSERT_TRUE(ours.converged);
    for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_NEAR(ours.performance[k][0].sensitivity, reference.theta[k][1][1],
                    kProbabilityTolerance);
        EXPECT_NEAR(ours.performance[k][0].specificity, reference.theta[k][0][0],
                    kProbabilityTolerance);
    }
    std::size_t wrong = 0, foreground = 0;
    for (std::size_t i = 0; i < ours.labels.voxelCount(); ++i) {
        const double w = reference.W[i][1];
        foreground += ours.labels.at(i) == 4;
        if (std::abs(w - 0.5) > kProbabilityTolerance)
            wrong += ours.labels.at(i) != (w > 0.5 ? 4 : 0);
    }
    EXPECT_EQ(wrong, 0u);
    EXPECT_GT(foreground, 50u);
    EXPECT_LT(findLabelBounds(ours.labels, 4).voxelCount(), g.voxelCount() / 4);
}
