#pragma once
// PacsClient through radmark-pacs-fetch, a child process that holds no key (pacs/FetchMain.cpp):
// over DICOMweb (QIDO-RS to query, WADO-RS to retrieve) or, for a node with "dimse", over DIMSE
// (C-FIND, C-GET or C-MOVE; pacs/DimseFetch.cpp). This side only passes it the node and the
// credentials and receives plain JSON (query results) or sealed memfds (instances) that it hands
// on unread: the same messages for both protocols.

#include "pacs/PacsClient.h"
#include "storage/Policy.h"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace radmark::pacs {

// How Radmark proves who it is to the PACS: HTTP basic (user and password) or a bearer token.
struct Credentials {
    enum class Kind { None, Basic, Bearer } kind = Kind::None;
    std::string user;
    std::string secret; // the password or the token
    ~Credentials();     // the secret is wiped
};

struct FetcherSettings {
    std::filesystem::path program;                 // empty: locateFetcherProgram()
    std::chrono::milliseconds quietLimit{120'000}; // longest wait without a byte of progress
    std::size_t maxInstanceBytes = std::size_t(2) << 30;
};

// $RADMARK_PACS_FETCH, else radmark-pacs-fetch beside the running program, else the build tree's.
std::filesystem::path locateFetcherProgram();

// The query as JSON, every field: what the fetcher reads (op "studies") and what the store
// service's pacs-query carries (app/cli/PacsOps.h).
nlohmann::json studyQueryJson(const StudyQuery& query);

class DicomWebClient : public PacsClient {
  public:
    DicomWebClient(storage::PacsNode node, const Credentials& credentials,
                   FetcherSettings settings = {});
    ~DicomWebClient() override;
    DicomWebClient(const DicomWebClient&) = delete;
    DicomWebClient& operator=(const DicomWebClient&) = delete;

    void echo() override;
    std::vector<StudyMatch> queryStudies(const StudyQuery& query) override;
    std::vector<SeriesMatch> querySeries(const std::string& studyUid) override;
    void retrieveSeries(const std::string& studyUid, const std::string& seriesUid,
                        const InstanceSink& sink) override;

  protected:
    // One request to the fetcher, the node added (tests/pacs send the test build's requests).
    nlohmann::json call(nlohmann::json request, const InstanceSink& sink = {});

  private:
    void start();
    void stop();
    [[noreturn]] void died();

    storage::PacsNode node_;
    nlohmann::json auth_;
    FetcherSettings settings_;
    decoder::UniqueFd socket_;
    pid_t pid_ = -1;
};

} // namespace radmark::pacs
