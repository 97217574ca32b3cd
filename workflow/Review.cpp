#include "workflow/Review.h"

#include "annotation/Agreement.h"
#include "annotation/Consensus.h"
#include "storage/Store.h"
#include "workflow/StoredAnnotations.h"

#include <algorithm>
#include <cmath>

namespace radmark::workflow {

using annotation::Label;
using annotation::LabelMap;
using annotation::OpenedAnnotation;

namespace {

ReviewVersion fromSummary(const storage::StudyReviewSummary::Version& v) {
    ReviewVersion out;
    out.annotationId = v.annotationId;
    out.id = imaging::ChunkHash::fromHex(v.contentHash);
    out.shortHash = v.contentHash.substr(0, 12);
    out.author = v.author;
    out.createdUtc = v.created;
    out.message = v.message;
    out.state = v.review.state;
    out.openComments = v.review.openComments;
    out.consensus = v.review.consensus;
    out.revises = v.review.revises;
    return out;
}

WorklistRow rowOf(const storage::StudyReviewSummary& study) {
    WorklistRow row;
    row.studyId = study.studyId;
    row.pseudonym = study.pseudonym;
    row.modality = study.modality;
    row.description = study.description;
    row.annotators = study.annotators;
    return row;
}

// `labels` with its segments' values replaced by the reference's values of the same structure
// (matched by code, then name); segments without a match keep values the reference does not use.
LabelMap relabelled(const LabelMap& labels, const annotation::SegmentList& segments,
                    const annotation::SegmentList& reference) {
    const annotation::SegmentMatching matching = annotation::matchSegments(reference, segments);
    std::map<Label, Label> to;
    for (const annotation::SegmentPair& pair : matching.pairs)
        if (pair.compared != pair.reference)
            to[pair.compared] = pair.reference;
    if (to.empty())
        return labels;
    LabelMap out(labels.geometry(), labels.width());
    for (std::size_t i = 0; i < labels.voxelCount(); ++i) {
        const Label value = labels.at(i);
        if (value == 0)
            continue;
        const auto it = to.find(value);
        out.set(i, it == to.end() ? value : it->second);
    }
    return out;
}

} // namespace

std::vector<WorklistRow> worklist(storage::Session& session,
                                  std::optional<storage::ReviewState> state) {
    const bool annotator = session.role() == storage::Role::Annotator;
    std::vector<WorklistRow> rows;
    const auto add = [&](WorklistRow row) {
        const storage::ReviewState rowState =
            row.latest ? row.latest->state : storage::ReviewState::Draft;
        if (!state || *state == rowState)
            rows.push_back(std::move(row));
    };
    for (const storage::StudyReviewSummary& study : storage::Reviews(session).studies()) {
        if (study.blind && !annotator && !study.versions.empty()) {
            // Several annotators working blind: one row per line (each annotator's newest, and
            // the consensus versions as a line of their own), in the order the lines began.
            std::vector<WorklistRow> lines;
            for (const auto& v : study.versions) {
                const std::string line = v.review.consensus ? "consensus" : v.author;
                auto it = std::find_if(lines.begin(), lines.end(),
                                       [&](const WorklistRow& r) { return r.annotator == line; });
                if (it == lines.end()) {
                    lines.push_back(rowOf(study));
                    lines.back().annotator = line;
                    it = std::prev(lines.end());
                }
                it->latest = fromSummary(v);
                it->openComments += v.review.openComments;
            }
            for (WorklistRow& line : lines)
                add(std::move(line));
            continue;
        }
        WorklistRow row = rowOf(study);
        for (const auto& v : study.versions) {
            // An annotator's row follows her own line; everyone else sees the study's newest.
            if (annotator && v.author != session.userName() && !v.review.consensus)
                continue;
            row.latest = fromSummary(v);
        }
        for (const auto& v : study.versions)
            if (!annotator || v.author == session.userName())
                row.openComments += v.review.openComments;
        add(std::move(row));
    }
    return rows;
}

std::vector<WorklistRow> reviewQueue(storage::Session& session) {
    std::vector<std::pair<std::string, WorklistRow>> queued;
    for (const storage::StudyReviewSummary& study : storage::Reviews(session).studies()) {
        for (const auto& v : study.versions) {
            if (v.review.state != storage::ReviewState::Submitted || v.author == session.userName())
                continue;
            WorklistRow row = rowOf(study);
            row.latest = fromSummary(v);
            row.annotator = v.author;
            row.openComments = v.review.openComments;
            queued.emplace_back(v.review.submitted, std::move(row));
        }
    }
    std::stable_sort(queued.begin(), queued.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<WorklistRow> rows;
    for (auto& [time, row] : queued)
        rows.push_back(std::move(row));
    return rows;
}

std::int64_t findVersion(storage::Session& session, const std::string& idOrHashPrefix) {
    return storage::Reviews(session).findVersion(idOrHashPrefix);
}

void submitForReview(storage::Session& session, std::int64_t annotationId) {
    storage::Reviews(session).submit(annotationId);
}

ReviewSession::ReviewSession(storage::Session& session, std::int64_t studyId)
    : session_(session), studyId_(studyId),
      history_(std::make_unique<StoredAnnotationHistory>(session, studyId)) {
    reload();
}

ReviewSession::~ReviewSession() = default;

void ReviewSession::refresh() {
    history_ = std::make_unique<StoredAnnotationHistory>(session_, studyId_);
    reload();
}

void ReviewSession::reload() {
    versions_.clear();
    const std::map<std::int64_t, storage::VersionReview> reviews =
        storage::Reviews(session_).ofStudy(studyId_);
    const StoredVersions& stored = history_->stored();
    for (std::size_t i = 0; i < stored.records.size(); ++i) {
        const storage::AnnotationRecord& record = stored.records[i];
        ReviewVersion v;
        v.annotationId = record.id;
        v.id = stored.ids[i];
        v.shortHash = v.id.hex().substr(0, 12);
        v.author = record.author;
        v.createdUtc = record.created;
        v.message = record.message;
        if (const auto it = reviews.find(record.id); it != reviews.end()) {
            v.state = it->second.state;
            v.openComments = it->second.openComments;
            v.consensus = it->second.consensus;
            v.revises = it->second.revises;
        }
        versions_.push_back(std::move(v));
    }
}

std::vector<ReviewVersion> ReviewSession::versions() const {
    return versions_;
}

ReviewVersion ReviewSession::version(std::int64_t annotationId) const {
    for (const ReviewVersion& v : versions_)
        if (v.annotationId == annotationId)
            return v;
    throw ReviewRefused("Version " + std::to_string(annotationId) +
                        " is not a version of this study.");
}

std::optional<std::int64_t> ReviewSession::previousOf(std::int64_t annotationId) const {
    const ReviewVersion current = version(annotationId);
    const annotation::Version& record = history_->history().get(current.id);
    if (record.parent)
        for (const ReviewVersion& v : versions_)
            if (v.id == *record.parent)
                return v.annotationId;
    std::optional<std::int64_t> previous;
    for (const ReviewVersion& v : versions_) {
        if (v.annotationId == annotationId)
            break;
        if (v.author == current.author)
            previous = v.annotationId;
    }
    return previous;
}

OpenedAnnotation ReviewSession::open(std::int64_t annotationId) {
    return history_->openVersion(version(annotationId).id, true);
}

Comparison ReviewSession::compare(std::int64_t reference, std::int64_t compared,
                                  double toleranceMm) {
    // Both named before either is opened (and logged), so that a refused one opens nothing.
    ReviewVersion referenceVersion = version(reference), comparedVersion = version(compared);
    OpenedAnnotation referenceAnnotation = open(reference);
    OpenedAnnotation comparedAnnotation = open(compared);
    return compareOpened(std::move(referenceVersion), std::move(referenceAnnotation),
                         std::move(comparedVersion), std::move(comparedAnnotation), toleranceMm);
}

Comparison compareOpened(ReviewVersion reference, OpenedAnnotation referenceAnnotation,
                         ReviewVersion compared, OpenedAnnotation comparedAnnotation,
                         double toleranceMm) {
    Comparison c;
    c.reference = std::move(reference);
    c.compared = std::move(compared);
    c.referenceAnnotation = std::move(referenceAnnotation);
    c.comparedAnnotation = std::move(comparedAnnotation);
    const std::string difference = annotation::gridDifference(
        c.referenceAnnotation.labels.geometry(), c.comparedAnnotation.labels.geometry());
    if (!difference.empty())
        throw ReviewRefused("These versions cannot be compared: " + difference);
    try {
        c.metrics = annotation::compareAnnotations(
            c.referenceAnnotation.labels, c.referenceAnnotation.segments,
            c.referenceAnnotation.boxes.all(), c.comparedAnnotation.labels,
            c.comparedAnnotation.segments, c.comparedAnnotation.boxes.all(), toleranceMm);
    } catch (const annotation::AgreementError& e) {
        throw ReviewRefused(std::string("These versions cannot be compared: ") + e.what());
    }
    return c;
}

storage::ReviewComment ReviewSession::pin(std::int64_t annotationId, const imaging::Vec3& voxel,
                                          const std::string& text,
                                          std::optional<annotation::Label> segment) {
    const annotation::Version& record = history_->history().get(version(annotationId).id);
    // Checked before rounding: a huge or non-finite coordinate would wrap into the volume.
    bool inside = true;
    for (int axis = 0; axis < 3; ++axis)
        inside = inside && std::isfinite(voxel[std::size_t(axis)]) &&
                 voxel[std::size_t(axis)] > -0.5 &&
                 voxel[std::size_t(axis)] < double(record.geometry.dims[std::size_t(axis)]) - 0.5;
    if (!inside)
        throw ReviewRefused("That point is outside the image: a comment is pinned inside it.");
    const imaging::Index3 at{int(std::lround(voxel[0])), int(std::lround(voxel[1])),
                             int(std::lround(voxel[2]))};
    if (!record.geometry.contains(at))
        throw ReviewRefused("That point is outside the image (voxel " + std::to_string(at[0]) +
                            ", " + std::to_string(at[1]) + ", " + std::to_string(at[2]) +
                            "): a comment is pinned inside it.");
    std::optional<std::int64_t> segmentId;
    if (segment)
        segmentId = *segment;
    storage::ReviewComment c =
        storage::Reviews(session_).comment(annotationId, voxel, text, segmentId);
    reload();
    return c;
}

storage::ReviewComment ReviewSession::reply(std::int64_t commentId, const std::string& text) {
    storage::ReviewComment c = storage::Reviews(session_).reply(commentId, text);
    reload();
    return c;
}

void ReviewSession::resolve(std::int64_t commentId) {
    storage::Reviews(session_).resolve(commentId);
    reload();
}

std::vector<storage::ReviewComment> ReviewSession::comments(std::int64_t annotationId) const {
    return storage::Reviews(session_).comments(annotationId);
}

storage::ReviewDecisionRecord ReviewSession::decide(std::int64_t annotationId,
                                                    storage::Decision decision,
                                                    const std::string& message,
                                                    const std::string& metricsJson,
                                                    bool resolveOpenComments) {
    const ReviewVersion v = version(annotationId);
    storage::ReviewDecisionRecord record = storage::Reviews(session_).decide(
        annotationId, decision, message, v.id.hex(), metricsJson, resolveOpenComments);
    reload();
    return record;
}

std::vector<storage::ReviewEvent> ReviewSession::history(std::int64_t annotationId) const {
    return storage::Reviews(session_).history(annotationId);
}

ReviewVersion ReviewSession::buildConsensus(Method method, std::vector<std::int64_t> sources) {
    if (sources.empty()) {
        // Every annotator's newest submitted (or decided) version.
        std::map<std::string, std::int64_t> newest;
        for (const ReviewVersion& v : versions_)
            if (!v.consensus && v.state != storage::ReviewState::Draft)
                newest[v.author] = v.annotationId;
        for (const auto& [author, id] : newest)
            sources.push_back(id);
    }
    if (sources.size() < 2)
        throw ReviewRefused("A consensus needs the versions of at least two annotators; this "
                            "study has " +
                            std::to_string(sources.size()) + " to use.");
    std::vector<OpenedAnnotation> opened;
    for (std::int64_t id : sources)
        opened.push_back(open(id));
    const annotation::SegmentList& reference = opened.front().segments;
    std::vector<LabelMap> maps;
    for (const OpenedAnnotation& o : opened) {
        const std::string difference =
            annotation::gridDifference(opened.front().labels.geometry(), o.labels.geometry());
        if (!difference.empty())
            throw ReviewRefused("These versions cannot be combined: " + difference);
        maps.push_back(relabelled(o.labels, o.segments, reference));
    }
    std::vector<const LabelMap*> inputs;
    for (const LabelMap& m : maps)
        inputs.push_back(&m);
    LabelMap result = method == Method::Vote ? annotation::majorityVote(inputs)
                                             : annotation::staple(inputs).labels;
    const std::string methodName = method == Method::Vote ? "vote" : "staple";
    std::string sourceText;
    for (std::int64_t id : sources)
        sourceText += (sourceText.empty() ? "" : ", ") + std::to_string(id);
    const std::string author = std::string(method == Method::Vote ? "majority vote" : "STAPLE") +
                               " consensus by " + session_.userName();
    const std::string message = "consensus (" + methodName + ") of versions " + sourceText;
    const annotation::Version saved =
        history_->saveConsensus(result, reference, author, message, methodName, sources);
    reload();
    for (const ReviewVersion& v : versions_)
        if (v.id == saved.id)
            return v;
    throw ReviewRefused("The consensus was saved but could not be listed; reopen the study.");
}

std::string decisionMetrics(ReviewSession& review, std::int64_t annotationId,
                            std::optional<std::int64_t> compareWith) {
    const std::optional<std::int64_t> other =
        compareWith ? compareWith : review.previousOf(annotationId);
    if (!other)
        return "{}";
    return annotation::agreementJson(review.compare(annotationId, *other).metrics);
}

} // namespace radmark::workflow
