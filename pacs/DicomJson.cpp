#include "pacs/DicomJson.h"

#include "pacs/PacsClient.h"

#include <stdexcept>

namespace radmark::pacs {
namespace {
using nlohmann::json;

std::string clean(std::string text) {
    std::string out;
    for (char c : text)
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f)
            out += c;
    if (out.size() > 256)
        out.resize(256);
    return out;
}

// The value(s) of one attribute as text: strings, numbers and person names, joined with '\'.
std::string text(const json& object, const char* tag) {
    const auto it = object.find(tag);
    if (it == object.end() || !it->is_object())
        return {};
    const auto values = it->find("Value");
    if (values == it->end() || !values->is_array())
        return {};
    std::string out;
    for (const auto& value : *values) {
        std::string one;
        if (value.is_string())
            one = value.get<std::string>();
        else if (value.is_number_integer())
            one = std::to_string(value.get<long long>());
        else if (value.is_number())
            one = std::to_string(value.get<double>());
        else if (value.is_object() && value.contains("Alphabetic") &&
                 value.at("Alphabetic").is_string())
            one = value.at("Alphabetic").get<std::string>();
        if (!out.empty())
            out += '\\';
        out += one;
        if (out.size() > 256)
            break;
    }
    return clean(out);
}

int count(const json& object, const char* tag) {
    const std::string value = text(object, tag);
    if (value.empty() || value.size() > 9 ||
        value.find_first_not_of("0123456789") != std::string::npos)
        return -1;
    return std::stoi(value);
}

json parseArray(const std::string& body) {
    json parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded())
        throw std::runtime_error("the PACS's answer to the query is not valid JSON");
    if (!parsed.is_array())
        throw std::runtime_error("the PACS's answer to the query is not a list");
    return parsed;
}

} // namespace

bool validUid(const std::string& uid) {
    if (uid.empty() || uid.size() > 64 || uid.front() == '.' || uid.back() == '.')
        return false;
    for (std::size_t i = 0; i < uid.size(); ++i) {
        const char c = uid[i];
        if (c == '.') {
            if (uid[i + 1] == '.')
                return false;
        } else if (c < '0' || c > '9')
            return false;
    }
    return true;
}

json studiesFromDicomJson(const std::string& body) {
    json out = json::array();
    for (const auto& study : parseArray(body)) {
        if (!study.is_object())
            continue;
        const std::string uid = text(study, "0020000D");
        if (!validUid(uid))
            continue;
        out.push_back({{"studyUid", uid},
                       {"patientId", text(study, "00100020")},
                       {"patientName", text(study, "00100010")},
                       {"accessionNumber", text(study, "00080050")},
                       {"studyDate", text(study, "00080020")},
                       {"modalities", text(study, "00080061")},
                       {"description", text(study, "00081030")},
                       {"seriesCount", count(study, "00201206")},
                       {"instanceCount", count(study, "00201208")}});
    }
    return out;
}

json seriesFromDicomJson(const std::string& body) {
    json out = json::array();
    for (const auto& series : parseArray(body)) {
        if (!series.is_object())
            continue;
        const std::string uid = text(series, "0020000E");
        if (!validUid(uid))
            continue;
        out.push_back({{"seriesUid", uid},
                       {"modality", text(series, "00080060")},
                       {"description", text(series, "0008103E")},
                       {"seriesNumber", text(series, "00200011")},
                       {"instanceCount", count(series, "00201209")}});
    }
    return out;
}

} // namespace radmark::pacs
