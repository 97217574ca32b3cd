// The WADO-RS multipart reader on bodies written by hand (RFC 2046 framing, every piece size
// from 1 byte up, boundary look-alikes inside the data, truncation, limits) and the DICOM JSON
// reduction of QIDO-RS answers; the PACS node settings of the policy.

#include "pacs/DicomJson.h"
#include "pacs/Multipart.h"
#include "pacs/PacsClient.h"
#include "storage/Errors.h"
#include "storage/Policy.h"

#include <gtest/gtest.h>

#include <random>

namespace radmark::pacs {
namespace {

struct Collect : MultipartSink {
    std::vector<std::string> parts;
    bool open = false;
    void partBegin() override {
        ASSERT_FALSE(open);
        open = true;
        parts.emplace_back();
    }
    void partData(const char* data, std::size_t bytes) override {
        ASSERT_TRUE(open);
        parts.back().append(data, bytes);
    }
    void partEnd() override {
        ASSERT_TRUE(open);
        open = false;
    }
};

std::string body(const std::vector<std::string>& parts, const std::string& boundary,
                 const std::string& preamble = "",
                 const std::string& headers = "Content-Type: application/dicom\r\n") {
    std::string out = preamble;
    for (const auto& part : parts)
        out += "--" + boundary + "\r\n" + headers + "\r\n" + part + "\r\n";
    out += "--" + boundary + "--\r\n";
    return out;
}

std::vector<std::string> parse(const std::string& text, const std::string& boundary,
                               std::size_t piece, MultipartLimits limits = {}) {
    Collect sink;
    MultipartReader reader(boundary, sink, limits);
    for (std::size_t at = 0; at < text.size(); at += piece)
        reader.feed(text.data() + at, std::min(piece, text.size() - at));
    reader.finish();
    EXPECT_FALSE(sink.open);
    return sink.parts;
}

TEST(Multipart, BoundaryOfContentType) {
    EXPECT_EQ(boundaryOf("multipart/related; type=\"application/dicom\"; boundary=abc123"),
              "abc123");
    EXPECT_EQ(boundaryOf("Multipart/Related;boundary=\"a b:c\";type=application/dicom"), "a b:c");
    EXPECT_THROW(boundaryOf("application/json"), MultipartError);
    EXPECT_THROW(boundaryOf("multipart/related; type=\"text/html\"; boundary=x"), MultipartError);
    EXPECT_THROW(boundaryOf("multipart/related; type=\"application/dicom\""), MultipartError);
    EXPECT_THROW(boundaryOf("multipart/related; boundary=" + std::string(71, 'a')), MultipartError);
    EXPECT_THROW(boundaryOf("multipart/related; boundary=\"unterminated"), MultipartError);
    EXPECT_THROW(boundaryOf("multipart/related; boundary=a\x01"), MultipartError);
}

TEST(Multipart, PartsComeBackWhateverThePieceSize) {
    std::mt19937 random(5);
    std::vector<std::string> parts;
    for (int i = 0; i < 5; ++i) {
        std::string bytes(std::size_t(random() % 3000), '\0');
        for (auto& c : bytes)
            c = char(random());
        parts.push_back(bytes);
    }
    // Boundary look-alikes inside the data: without the leading CRLF, shortened, at the edges.
    parts.push_back("--BOUNDARY7x\r\n--BOUNDARY7\r\n-BOUNDARY7x--");
    parts.push_back("");
    parts.push_back("\r\n");
    const std::string text = body(parts, "BOUNDARY7x", "preamble text\r\n");
    for (std::size_t piece : {1, 2, 3, 7, 13, 64, 4096, 1 << 20})
        EXPECT_EQ(parse(text, "BOUNDARY7x", piece), parts) << "piece " << piece;
}

TEST(Multipart, TransportPaddingAndEpilogueAreAccepted) {
    const std::string text = "--b1 \t\r\nContent-Type: application/dicom; transfer-syntax=1.2\r\n"
                             "Content-Length: 3\r\n\r\nabc\r\n--b1--trailing epilogue";
    EXPECT_EQ(parse(text, "b1", 1), std::vector<std::string>{"abc"});
}

TEST(Multipart, MalformedBodiesAreRefused) {
    const auto refused = [](const std::string& text, const std::string& why,
                            MultipartLimits limits = {}) {
        try {
            parse(text, "b1", 5, limits);
            ADD_FAILURE() << "accepted: " << why;
        } catch (const MultipartError& error) {
            EXPECT_NE(std::string(error.what()).find(why), std::string::npos) << error.what();
        }
    };
    const std::string good = body({"abcdef", "ghi"}, "b1");
    refused(good.substr(0, good.size() - 12), "ended in the middle of instance 2");
    refused(good.substr(0, good.size() - 4), "without its closing boundary");
    refused("", "held no multipart part");
    refused(std::string(20000, 'x'), "does not start with a part boundary");
    refused(body({"x"}, "b1", "", "Content-Type: text/html\r\n"), "not application/dicom");
    refused(body({"x"}, "b1", "", ""), "has no Content-Type");
    refused(body({"x"}, "b1", "", "Content-Type application/dicom\r\n"), "malformed header");
    refused(body({"x"}, "b1", "",
                 "Content-Type: application/dicom\r\nContent-Type: "
                 "application/dicom\r\n"),
            "two Content-Type");
    refused("--b1junk\r\n", "followed by text");
    refused(body({"x"}, "b1", "", "X: " + std::string(20000, 'y') + "\r\n"), "too long a header");
    MultipartLimits small;
    small.maxPartBytes = 10;
    refused(body({std::string(11, 'z')}, "b1"), "larger than", small);
    small = {};
    small.maxParts = 2;
    refused(body({"a", "b", "c"}, "b1"), "more than 2 instances", small);
}

TEST(DicomJson, QidoAnswersAreReducedToPlainStrings) {
    const std::string studies = R"([
      {"0020000D": {"vr": "UI", "Value": ["1.2.3.4"]},
       "00100010": {"vr": "PN", "Value": [{"Alphabetic": "DOE^JANE"}]},
       "00100020": {"vr": "LO", "Value": ["ID\u0007 1"]},
       "00080061": {"vr": "CS", "Value": ["CT", "MR"]},
       "00201206": {"vr": "IS", "Value": [3]},
       "00201208": {"vr": "IS", "Value": ["12"]}},
      {"0020000D": {"vr": "UI", "Value": ["1.2/../../x"]}},
      "not an object"])";
    const auto list = studiesFromDicomJson(studies);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["studyUid"], "1.2.3.4");
    EXPECT_EQ(list[0]["patientName"], "DOE^JANE");
    EXPECT_EQ(list[0]["patientId"], "ID 1");
    EXPECT_EQ(list[0]["modalities"], "CT\\MR");
    EXPECT_EQ(list[0]["seriesCount"], 3);
    EXPECT_EQ(list[0]["instanceCount"], 12);
    EXPECT_THROW(studiesFromDicomJson("{"), std::runtime_error);
    EXPECT_THROW(studiesFromDicomJson("{}"), std::runtime_error);
    EXPECT_TRUE(seriesFromDicomJson("[]").empty());
    EXPECT_TRUE(validUid("1.2.840.10008.1.2"));
    EXPECT_FALSE(validUid("1..2"));
    EXPECT_FALSE(validUid("1.2."));
    EXPECT_FALSE(validUid(std::string(65, '1')));
}

TEST(PacsPolicy, NodesAreReadAndCheckedLikeDestinations) {
    const auto policy = storage::Policy::fromJson(R"({"pacs_nodes": [
      {"name": "main", "dicomweb": "https://pacs.example/dicom-web", "preferred": true,
       "ca_bundle": "/etc/radmark/ca.pem", "credentials": "/etc/radmark/pacs.cred"},
      {"name": "test", "dicomweb": "http://127.0.0.1:8042/dicom-web", "plain_http_allowed": true,
       "user": "radmark"}]})");
    ASSERT_EQ(policy.pacsNodes.size(), 2u);
    EXPECT_TRUE(policy.pacsNodes[0].preferred);
    EXPECT_EQ(policy.findPacsNode("test")->user, "radmark");
    EXPECT_FALSE(policy.findPacsNode("other"));
    EXPECT_EQ(storage::Policy::fromJson(policy.toJson()).pacsNodes.size(), 2u);
    for (const char* bad :
         {R"({"pacs_nodes": [{"name": "a", "dicomweb": "http://x/dicom-web"}]})",
          R"({"pacs_nodes": [{"name": "a", "dicomweb": "ftp://x"}]})",
          R"({"pacs_nodes": [{"name": "a/b", "dicomweb": "https://x"}]})",
          R"({"pacs_nodes": [{"name": "a", "dicomweb": "https://x", "ca_bundle": "rel.pem"}]})",
          R"({"pacs_nodes": [{"name": "a", "dicomweb": "https://x", "port": 1}]})",
          R"({"pacs_nodes": [{"name": "a", "dicomweb": "https://x"},
                                {"name": "a", "dicomweb": "https://y"}]})",
          R"({"pacs_nodes": {}})"})
        EXPECT_THROW(storage::Policy::fromJson(bad), storage::PolicyError) << bad;
}

TEST(PacsPolicy, DimseNodesAreReadCheckedAndWrittenBack) {
    const auto policy = storage::Policy::fromJson(R"({"pacs_nodes": [
      {"name": "classic", "dimse": {"ae_title": "PACS1", "host": "pacs.example", "port": 11112,
       "calling_ae": "RADMARK"}},
      {"name": "moving", "dimse": {"ae_title": "PACS2", "host": "10.0.0.2", "calling_ae": "RM",
       "retrieve": "move", "move_destination": {"ae_title": "RMSCP", "port": 11113}}}]})");
    ASSERT_EQ(policy.pacsNodes.size(), 2u);
    const auto classic = policy.findPacsNode("classic");
    ASSERT_TRUE(classic && classic->dimse);
    EXPECT_EQ(classic->dimse->aeTitle, "PACS1");
    EXPECT_EQ(classic->dimse->port, 11112);
    EXPECT_FALSE(classic->dimse->move);
    EXPECT_TRUE(classic->dicomwebUrl.empty());
    const auto moving = policy.findPacsNode("moving");
    ASSERT_TRUE(moving && moving->dimse);
    EXPECT_EQ(moving->dimse->port, 104);
    EXPECT_TRUE(moving->dimse->move);
    EXPECT_EQ(moving->dimse->moveAeTitle, "RMSCP");
    EXPECT_EQ(moving->dimse->movePort, 11113);
    const auto again = storage::Policy::fromJson(policy.toJson());
    ASSERT_TRUE(again.findPacsNode("moving") && again.findPacsNode("moving")->dimse);
    EXPECT_EQ(again.findPacsNode("moving")->dimse->moveAeTitle, "RMSCP");
    EXPECT_EQ(again.findPacsNode("classic")->dimse->callingAe, "RADMARK");
    const std::string ok = R"("ae_title": "P", "host": "h", "calling_ae": "R")";
    for (const std::string& bad : std::vector<std::string>{
             R"({"pacs_nodes": [{"name": "a", "dimse": {)" + ok + R"(, "tls": true}}]})",
          R"({"pacs_nodes": [{"name": "a", "dicomweb": "https://x", "dimse": {)" + ok + "}}]}",
          R"({"pacs_nodes": [{"name": "a", "credentials": "/c", "dimse": {)" + ok + "}}]}",
          R"({"pacs_nodes": [{"name": "a", "dimse": {"host": "h", "calling_ae": "R"}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {"ae_title": "SEVENTEEN_CHARS_X", )"
          R"("host": "h", "calling_ae": "R"}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {"ae_title": "P", "calling_ae": "R"}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {)" + ok + R"(, "port": 70000}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {)" + ok + R"(, "port": "104"}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {)" + ok + R"(, "retrieve": "push"}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {)" + ok + R"(, "retrieve": "move"}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {)" + ok +
              R"(, "move_destination": {"ae_title": "S", "port": 5}}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {)" + ok +
              R"(, "retrieve": "move", "move_destination": {"ae_title": "S"}}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {)" + ok +
              R"(, "retrieve": "move", "move_destination": {"ae_title": "S", "port": 5, )"
              R"("host": "x"}}}]})",
          R"({"pacs_nodes": [{"name": "a", "dimse": {"ae_title": "A\\B", "host": "h", )"
          R"("calling_ae": "R"}}]})"})
        EXPECT_THROW(storage::Policy::fromJson(bad), storage::PolicyError) << bad;
}

} // namespace
} // namespace radmark::pacs
