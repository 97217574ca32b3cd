#include "workflow/WorklistJson.h"

namespace radmark::workflow {

using nlohmann::json;

json reviewVersionJson(const ReviewVersion& v) {
    json out = {{"annotationId", v.annotationId},
                {"id", v.id.hex()},
                {"author", v.author},
                {"createdUtc", v.createdUtc},
                {"message", v.message},
                {"state", storage::reviewStateName(v.state)},
                {"openComments", v.openComments},
                {"consensus", v.consensus}};
    if (v.revises)
        out["revises"] = *v.revises;
    return out;
}

ReviewVersion reviewVersionFromJson(const json& in) {
    ReviewVersion v;
    v.annotationId = in.at("annotationId").get<std::int64_t>();
    v.id = annotation::VersionId::fromHex(in.at("id").get<std::string>());
    v.shortHash = v.id.hex().substr(0, 12);
    v.author = in.at("author").get<std::string>();
    v.createdUtc = in.at("createdUtc").get<std::string>();
    v.message = in.at("message").get<std::string>();
    const auto state = storage::parseReviewState(in.at("state").get<std::string>());
    if (!state)
        throw UnreadableWorklist("a version's review state is not one Radmark knows");
    v.state = *state;
    v.openComments = in.at("openComments").get<int>();
    v.consensus = in.at("consensus").get<bool>();
    if (in.contains("revises"))
        v.revises = in.at("revises").get<std::int64_t>();
    return v;
}

json worklistJson(const std::vector<WorklistRow>& rows) {
    json out = json::array();
    for (const WorklistRow& r : rows) {
        json row = {{"studyId", r.studyId},          {"pseudonym", r.pseudonym},
                    {"modality", r.modality},        {"description", r.description},
                    {"annotators", r.annotators},    {"annotator", r.annotator},
                    {"openComments", r.openComments}};
        if (r.latest)
            row["latest"] = reviewVersionJson(*r.latest);
        out.push_back(std::move(row));
    }
    return out;
}

std::vector<WorklistRow> worklistFromJson(const json& rows) {
    std::vector<WorklistRow> out;
    try {
        for (const json& in : rows.get_ref<const json::array_t&>()) {
            WorklistRow r;
            r.studyId = in.at("studyId").get<std::int64_t>();
            r.pseudonym = in.at("pseudonym").get<std::string>();
            r.modality = in.at("modality").get<std::string>();
            r.description = in.at("description").get<std::string>();
            r.annotators = in.at("annotators").get<std::vector<std::string>>();
            r.annotator = in.at("annotator").get<std::string>();
            r.openComments = in.at("openComments").get<int>();
            if (in.contains("latest"))
                r.latest = reviewVersionFromJson(in.at("latest"));
            out.push_back(std::move(r));
        }
    } catch (const json::exception&) {
        throw UnreadableWorklist("the worklist is not readable");
    } catch (const imaging::CorruptChunk&) {
        throw UnreadableWorklist("a version's hash in the worklist is not readable");
    }
    return out;
}

} // namespace radmark::workflow
