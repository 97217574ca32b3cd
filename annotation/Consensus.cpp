#include "annotation/Consensus.h"

#include "annotation/Agreement.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

namespace radmark::annotation {

namespace {

void requireCombinable(const std::vector<const LabelMap*>& annotations) {
    if (annotations.size() < 2)
        throw ConsensusError("A consensus needs at least two annotations; " +
                             std::to_string(annotations.size()) + " given.");
    for (const LabelMap* a : annotations)
        if (!a)
            throw ConsensusError("One of the annotations to combine is missing.");
    for (std::size_t i = 1; i < annotations.size(); ++i) {
        const std::string difference =
            gridDifference(annotations[0]->geometry(), annotations[i]->geometry());
        if (!difference.empty())
            throw ConsensusError("Annotation " + std::to_string(i + 1) +
                                 " lies on a different image grid from annotation 1 (" +
                                 difference +
                                 "), so they cannot be combined voxel by voxel. Combine versions "
                                 "drawn on the same series.");
    }
}

// The classes taking part and, per annotation, the class of each label value.
struct Classes {
    std::vector<Label> labels; // labels[0] == 0
    std::vector<std::vector<std::uint32_t>> ofLabel;
};

Classes binaryClasses(const std::vector<const LabelMap*>& annotations, Label segment) {
    if (segment == 0)
        throw ConsensusError("Label 0 means unlabelled: choose a segment to combine.");
    Classes c;
    c.labels = {0, segment};
    for (const LabelMap* a : annotations) {
        std::vector<std::uint32_t> table(std::size_t(a->maxLabel()) + 1, 0);
        if (segment <= a->maxLabel())
            table[segment] = 1;
        c.ofLabel.push_back(std::move(table));
    }
    return c;
}

Classes allClasses(const std::vector<const LabelMap*>& annotations) {
    Classes c;
    c.labels = {0};
    for (const LabelMap* a : annotations)
        for (const auto& [label, count] : a->voxelCounts())
            if (count > 0)
                c.labels.push_back(label);
    std::sort(c.labels.begin(), c.labels.end());
    c.labels.erase(std::unique(c.labels.begin(), c.labels.end()), c.labels.end());
    for (const LabelMap* a : annotations) {
        std::vector<std::uint32_t> table(std::size_t(a->maxLabel()) + 1, 0);
        for (std::size_t k = 1; k < c.labels.size(); ++k)
            if (c.labels[k] <= a->maxLabel())
                table[c.labels[k]] = std::uint32_t(k);
        c.ofLabel.push_back(std::move(table));
    }
    return c;
}

// Distinct vote patterns (class of each annotator) and how many voxels of the grid show each.
struct Patterns {
    std::size_t raters = 0, classes = 0;
    VoxelRegion box;
    std::vector<std::uint64_t> codes;
    std::vector<double> counts;
    std::unordered_map<std::uint64_t, std::uint32_t> index;
    std::uint32_t classOf(std::size_t pattern, std::size_t rater) const {
        std::uint64_t code = codes[pattern];
        for (std::size_t r = 0; r < rater; ++r)
            code /= classes;
        return std::uint32_t(code % classes);
    }
};

// Calls f(voxel index, pattern code) for every voxel of the box; consecutive voxels usually share
// a pattern, so callers cache the last lookup.
template <class F>
void forEachCode(const std::vector<const LabelMap*>& annotations, const Classes& classes,
                 const VoxelRegion& box, F&& f) {
    const LabelMap& first = *annotations[0];
    std::vector<std::uint64_t> weight(annotations.size(), 1);
    for (std::size_t r = 1; r < annotations.size(); ++r)
        weight[r] = weight[r - 1] * classes.labels.size();
    for (int z = box.min[2]; z <= box.max[2]; ++z)
        for (int y = box.min[1]; y <= box.max[1]; ++y) {
            std::size_t i = first.index(box.min[0], y, z);
            for (int x = box.min[0]; x <= box.max[0]; ++x, ++i) {
                std::uint64_t code = 0;
                for (std::size_t r = 0; r < annotations.size(); ++r)
                    code += classes.ofLabel[r][annotations[r]->at(i)] * weight[r];
                f(i, code);
            }
        }
}

Patterns countPatterns(const std::vector<const LabelMap*>& annotations, const Classes& classes,
                       const VoxelRegion& box) {
    Patterns p;
    p.raters = annotations.size();
    p.classes = classes.labels.size();
    p.box = box;
    if (double(p.raters) * std::log2(double(p.classes)) > 63)
        throw ConsensusError("Too many segments and annotations to combine at once; combine one "
                             "segment at a time.");
    auto find = [&](std::uint64_t code) {
        auto [it, added] = p.index.try_emplace(code, std::uint32_t(p.codes.size()));
        if (added) {
            p.codes.push_back(code);
            p.counts.push_back(0);
        }
        return it->second;
    };
    find(0); // all background: everything outside the box, at least
    std::uint64_t lastCode = 0;
    std::uint32_t lastPattern = 0;
    std::uint64_t inBox = 0;
    if (!box.empty())
        forEachCode(annotations, classes, box, [&](std::size_t, std::uint64_t code) {
            if (code != lastCode) {
                lastCode = code;
                lastPattern = find(code);
            }
            ++p.counts[lastPattern];
            ++inBox;
        });
    p.counts[0] += double(annotations[0]->voxelCount() - inBox);
    return p;
}

LabelMap writeDecisions(const std::vector<const LabelMap*>& annotations, const Classes& classes,
                        const Patterns& patterns, const std::vector<std::uint32_t>& decision) {
    const LabelWidth width = classes.labels.back() > 255 ? LabelWidth::UInt16 : LabelWidth::UInt8;
    LabelMap out(annotations[0]->geometry(), width);
    if (decision[0] != 0) // the all-background pattern itself voted in (degenerate raters)
        out.fill(classes.labels[decision[0]]);
    if (patterns.box.empty())
        return out;
    std::uint64_t lastCode = 0;
    Label lastLabel = classes.labels[decision[0]];
    forEachCode(annotations, classes, patterns.box, [&](std::size_t i, std::uint64_t code) {
        if (code != lastCode) {
            lastCode = code;
            lastLabel = classes.labels[decision[patterns.index.at(code)]];
        }
        if (lastLabel != 0 || decision[0] != 0)
            out.set(i, lastLabel);
    });
    return out;
}

LabelMap vote(const std::vector<const LabelMap*>& annotations, const Classes& classes,
              const VoxelRegion& box) {
    const Patterns patterns = countPatterns(annotations, classes, box);
    std::vector<std::uint32_t> decision(patterns.codes.size(), 0);
    std::vector<int> votes(patterns.classes);
    for (std::size_t p = 0; p < patterns.codes.size(); ++p) {
        std::fill(votes.begin(), votes.end(), 0);
        for (std::size_t r = 0; r < patterns.raters; ++r)
            ++votes[patterns.classOf(p, r)];
        // max_element returns the first of equal maxima: the lowest label wins a tie.
        decision[p] = std::uint32_t(std::max_element(votes.begin(), votes.end()) - votes.begin());
    }
    return writeDecisions(annotations, classes, patterns, decision);
}

StapleResult runStaple(const std::vector<const LabelMap*>& annotations, const Classes& classes,
                       const VoxelRegion& box, const StapleOptions& options) {
    const Patterns patterns = countPatterns(annotations, classes, box);
    const std::size_t P = patterns.codes.size(), K = patterns.classes, N = patterns.raters;
    std::vector<std::vector<std::uint32_t>> said(P, std::vector<std::uint32_t>(N));
    for (std::size_t p = 0; p < P; ++p)
        for (std::size_t r = 0; r < N; ++r)
            said[p][r] = patterns.classOf(p, r);

    // W starts as the share of annotators voting each class; the prior is its mean over the grid.
    std::vector<std::vector<double>> W(P, std::vector<double>(K, 0));
    for (std::size_t p = 0; p < P; ++p)
        for (std::size_t r = 0; r < N; ++r)
            W[p][said[p][r]] += 1.0 / double(N);
    double total = 0;
    std::vector<double> prior(K, 0);
    for (std::size_t p = 0; p < P; ++p) {
        total += patterns.counts[p];
        for (std::size_t t = 0; t < K; ++t)
            prior[t] += patterns.counts[p] * W[p][t];
    }
    for (double& v : prior)
        v /= total;

    using Matrix = std::vector<std::vector<double>>;
    std::vector<Matrix> theta(N, Matrix(K, std::vector<double>(K, 0))), last = theta;
    std::vector<Matrix> expected = theta; // expected confusion counts of the last M-step
    StapleResult result;
    for (int iteration = 0; iteration < options.maximumIterations; ++iteration) {
        // M-step: each annotator's confusion matrix from the current posteriors.
        for (std::size_t r = 0; r < N; ++r) {
            Matrix& C = expected[r];
            for (auto& row : C)
                std::fill(row.begin(), row.end(), 0.0);
            for (std::size_t p = 0; p < P; ++p)
                for (std::size_t t = 0; t < K; ++t)
                    C[said[p][r]][t] += patterns.counts[p] * W[p][t];
            for (std::size_t t = 0; t < K; ++t) {
                double column = 0;
                for (std::size_t s = 0; s < K; ++s)
                    column += C[s][t];
                for (std::size_t s = 0; s < K; ++s)
                    theta[r][s][t] = column > 0 ? C[s][t] / column : (s == t ? 1.0 : 0.0);
            }
        }
        // E-step: posteriors from the prior and the confusion matrices.
        for (std::size_t p = 0; p < P; ++p) {
            double sum = 0;
            for (std::size_t t = 0; t < K; ++t) {
                double w = prior[t];
                for (std::size_t r = 0; r < N; ++r)
                    w *= theta[r][said[p][r]][t];
                W[p][t] = w;
                sum += w;
            }
            for (std::size_t t = 0; t < K; ++t)
                W[p][t] = sum > 0 ? W[p][t] / sum : prior[t];
        }
        result.iterations = iteration + 1;
        if (iteration > 0) {
            double change = 0;
            for (std::size_t r = 0; r < N; ++r)
                for (std::size_t s = 0; s < K; ++s)
                    for (std::size_t t = 0; t < K; ++t)
                        change = std::max(change, std::abs(theta[r][s][t] - last[r][s][t]));
            if (change <= options.tolerance) {
                result.converged = true;
                break;
            }
        }
        last = theta;
    }

    std::vector<std::uint32_t> decision(P, 0);
    for (std::size_t p = 0; p < P; ++p)
        for (std::size_t t = 1; t < K; ++t)
            if (W[p][t] > W[p][decision[p]])
                decision[p] = std::uint32_t(t);
    result.labels = writeDecisions(annotations, classes, patterns, decision);
    result.classes = classes.labels;
    result.prior = prior;
    result.confusion = theta;
    for (std::size_t r = 0; r < N; ++r) {
        std::vector<RaterPerformance> perClass;
        for (std::size_t c = 1; c < K; ++c) {
            double otherSaidOther = 0, other = 0;
            for (std::size_t t = 0; t < K; ++t)
                if (t != c)
                    for (std::size_t s = 0; s < K; ++s) {
                        other += expected[r][s][t];
                        if (s != c)
                            otherSaidOther += expected[r][s][t];
                    }
            perClass.push_back({theta[r][c][c], other > 0 ? otherSaidOther / other : 1.0});
        }
        result.performance.push_back(std::move(perClass));
    }
    return result;
}

VoxelRegion boundsOfAll(const std::vector<const LabelMap*>& annotations, Label segment) {
    VoxelRegion box;
    for (const LabelMap* a : annotations)
        box.include(segment == 0 ? findLabelledBounds(*a) : findLabelBounds(*a, segment));
    return box;
}

} // namespace

LabelMap majorityVote(const std::vector<const LabelMap*>& annotations) {
    requireCombinable(annotations);
    return vote(annotations, allClasses(annotations), boundsOfAll(annotations, 0));
}

LabelMap majorityVote(const std::vector<const LabelMap*>& annotations, Label segment) {
    requireCombinable(annotations);
    return vote(annotations, binaryClasses(annotations, segment),
                boundsOfAll(annotations, segment));
}

StapleResult staple(const std::vector<const LabelMap*>& annotations, const StapleOptions& options) {
    requireCombinable(annotations);
    return runStaple(annotations, allClasses(annotations), boundsOfAll(annotations, 0), options);
}

StapleResult staple(const std::vector<const LabelMap*>& annotations, Label segment,
                    const StapleOptions& options) {
    requireCombinable(annotations);
    return runStaple(annotations, binaryClasses(annotations, segment),
                     boundsOfAll(annotations, segment), options);
}

std::string_view majorityVoteDefinition() {
    return "Majority vote: each voxel takes the label that most annotators gave it, background "
           "counting as a label; when several labels have the most votes, the lowest label value "
           "wins, so background wins every tie it is part of. For one segment: foreground only "
           "when strictly more than half of the annotators marked the voxel (with two "
           "annotators, a voxel only one of them marked is background).";
}

std::string_view stapleDefinition() {
    return "STAPLE (Warfield et al. 2004; multi-label as Rohlfing et al. 2004 and ITK's "
           "MultiLabelSTAPLEImageFilter): expectation-maximisation of each annotator's confusion "
           "matrix (for one segment: sensitivity and specificity) and of each voxel's posterior "
           "probability of every label, over the whole image grid; starts from the share of "
           "annotators voting each label, prior fixed to the mean share of each label over the "
           "grid (as ITK's STAPLEImageFilter), stops when no confusion entry changes by more "
           "than 1e-7. Each voxel takes the label of highest posterior, the lowest label on a "
           "tie (for one segment: foreground when its probability is above 0.5).";
}

} // namespace radmark::annotation
