#pragma once
// A consensus of several annotators' label maps on one grid: majority vote or STAPLE, for one
// segment (binary) or for every label at once (multi-label). Labels are compared by value, so
// the caller first maps every annotator's segments onto one segment list (matchSegments).
//
// Tie rule of the vote, one rule for both uses: a voxel takes the label that most annotators gave
// it, background (0) counting as a label; when several labels have the most votes, the lowest
// label value wins. For one segment this reads: foreground only when strictly more than half of
// the annotators marked it, so with two annotators a 1-1 voxel is background.
//
// STAPLE (Warfield 2004, and Rohlfing's multi-label form as in ITK's MultiLabelSTAPLEImageFilter):
// each annotator r has a confusion matrix theta_r[s][t] = P(r says class s | the truth is t);
// expectation-maximisation alternates the posterior W(t) of every voxel with theta, from W =
// the share of annotators voting t, with a fixed prior = the mean share of each class over the
// whole grid (ITK's STAPLEImageFilter does the same, so binary results match it). It stops when
// no entry of theta changes by more than the tolerance (ITK: 1e-7). A voxel takes the class with
// the highest W; ties go to the lowest label (binary: foreground when W > 0.5).
//
// W depends only on what each annotator said at a voxel, so the EM runs on the counts of the
// distinct patterns of votes (at most classes^annotators of them), exactly equal to running it
// voxel by voxel over the whole grid but in time independent of the grid: the voxels outside the
// bounding box of all labels are one count of the all-background pattern.

#include "annotation/LabelMap.h"

#include <stdexcept>
#include <string_view>
#include <vector>

namespace radmark::annotation {

// Fewer than two annotations, or annotations on different grids.
struct ConsensusError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Multi-label: every label of every annotator.
LabelMap majorityVote(const std::vector<const LabelMap*>& annotations);
// One segment: `segment` against everything else; the result holds only `segment` and 0.
LabelMap majorityVote(const std::vector<const LabelMap*>& annotations, Label segment);

struct StapleOptions {
    int maximumIterations = 10000;
    double tolerance = 1e-7; // largest change of any confusion entry that still counts as moving
};

struct RaterPerformance {
    double sensitivity = 0; // P(says this class | it is this class) = theta[c][c]
    double specificity = 0; // P(says another class | it is another class)
};

struct StapleResult {
    LabelMap labels;
    std::vector<Label> classes; // classes[0] == 0 (background), then the labels in order
    std::vector<double> prior;  // per class, fixed
    // performance[rater][i] for classes[i + 1], i.e. background has none.
    std::vector<std::vector<RaterPerformance>> performance;
    // confusion[rater][said][truth], indices into classes.
    std::vector<std::vector<std::vector<double>>> confusion;
    int iterations = 0;
    bool converged = false;
};

StapleResult staple(const std::vector<const LabelMap*>& annotations,
                    const StapleOptions& options = {});
StapleResult staple(const std::vector<const LabelMap*>& annotations, Label segment,
                    const StapleOptions& options = {});

// The text the README and every consensus record state.
std::string_view majorityVoteDefinition();
std::string_view stapleDefinition();

} // namespace radmark::annotation
