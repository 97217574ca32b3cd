#include "pacs/DimseFetch.h"

#include "pacs/DicomJson.h"
#include "pacs/PacsClient.h"

#include <dcmtk/config/osconfig.h> // first, as DCMTK asks

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcostrma.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/dcmlayer.h>
#include <dcmtk/dcmnet/dcmtrans.h>
#include <dcmtk/dcmnet/dul.h>
#include <dcmtk/dcmnet/scp.h>
#include <dcmtk/dcmnet/scu.h>
#include <dcmtk/oflog/oflog.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace radmark::pacs::dimse {
namespace {
using nlohmann::json;

struct Peer {
    std::string aeTitle, host, callingAe;
    int port = 104;
    bool move = false;
    std::string moveAeTitle;
    int movePort = 0;
    unsigned stallSeconds = 60;
};

Peer peerFrom(const json& request) {
    const json& d = request.at("dimse");
    Peer p;
    p.aeTitle = d.at("aeTitle").get<std::string>();
    p.host = d.at("host").get<std::string>();
    p.port = d.at("port").get<int>();
    p.callingAe = d.at("callingAe").get<std::string>();
    p.move = d.value("move", false);
    p.moveAeTitle = d.value("moveAeTitle", "");
    p.movePort = d.value("movePort", 0);
    p.stallSeconds = unsigned(std::max(1L, request.value("stallSeconds", 60L)));
    return p;
}

} // namespace

// DCMTK's loggers off: at their debug levels they print whole datasets (patient values); its
// data dictionary is needed to read any dataset.
void initialise() {
    static const bool ready = [] {
        OFLog::configure(OFLogger::OFF_LOG_LEVEL);
        // Nagle's algorithm off on DCMTK's sockets (it reads this at each connection): with it,
        // every small PDU of a C-FIND or a C-STORE response waits for a delayed ACK.
        ::setenv("TCP_NODELAY", "1", 1);
        dcmDisableGethostbyaddr.set(OFTrue); // callers' addresses stay numeric
        return true;
    }();
    (void)ready;
    if (!dcmDataDict.isDictionaryLoaded())
        throw Failure{"other", "DCMTK's data dictionary could not be loaded (libdcmtk's "
                               "dicom.dic is missing)"};
}

namespace {

// The few transfer syntaxes asked for or accepted: uncompressed first. A PACS that holds an
// instance compressed otherwise converts it for us (a lossy one is only decompressed).
OFList<OFString> uncompressed() {
    OFList<OFString> ts;
    ts.push_back(UID_LittleEndianExplicitTransferSyntax);
    ts.push_back(UID_LittleEndianImplicitTransferSyntax);
    return ts;
}

OFList<OFString> acceptedForStore() {
    OFList<OFString> ts = uncompressed();
    for (const char* uid : {UID_JPEGProcess14SV1TransferSyntax, UID_JPEGLSLosslessTransferSyntax,
                            UID_JPEG2000LosslessOnlyTransferSyntax, UID_RLELosslessTransferSyntax,
                            UID_JPEGProcess1TransferSyntax, UID_JPEG2000TransferSyntax})
        ts.push_back(uid);
    return ts;
}

// A negotiation that did not work, in one line (the AE titles are the policy's, not a patient's).
Failure associationFailure(const OFCondition& condition, const Peer& peer) {
    if (condition == DUL_ASSOCIATIONREJECTED)
        return {"refused", "the PACS refused the association (its AE title " + peer.aeTitle +
                               ", Radmark's " + peer.callingAe +
                               "): is Radmark registered there with this AE title?"};
    if (condition == NET_EC_NoAcceptablePresentationContexts)
        return {"refused",
                "the PACS accepts none of the services asked for (AE title " + peer.aeTitle + ")"};
    return {"unreachable",
            std::string("the PACS could not be reached over DIMSE (") + condition.text() + ")"};
}

Failure transferFailure(const OFCondition& condition) {
    return {"unreachable",
            std::string("the transfer from the PACS broke off (") + condition.text() + ")"};
}

std::string hex(Uint16 status) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%04x", unsigned(status));
    return text;
}

// DCMTK's TCP connection, acknowledging what arrives at once. A PACS that sends with Nagle's
// algorithm on (Orthanc does, unless TCP_NODELAY=1 is in its environment) holds back the short
// last segment of each C-STORE until what it sent before is acknowledged, and Linux delays that
// acknowledgement. The kernel leaves quick-ACK mode by itself, so it is asked for after each read.
class QuickAckConnection : public DcmTCPConnection {
  public:
    explicit QuickAckConnection(DcmNativeSocketType socket) : DcmTCPConnection(socket) {
        quickAck();
    }
    ssize_t read(void* buffer, size_t bytes) override {
        const ssize_t n = DcmTCPConnection::read(buffer, bytes);
        quickAck();
        return n;
    }

  private:
    void quickAck() {
        const int on = 1;
        ::setsockopt(getSocket(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
    }
};

// Makes QuickAckConnections. DCMTK asks a transport layer only for what it takes to be a secure
// connection; this one is plain TCP (its handshakes do nothing), not TLS.
class QuickAckTransport : public DcmTransportLayer {
  public:
    DcmTransportConnection* createConnection(DcmNativeSocketType socket, OFBool) override {
        return new QuickAckConnection(socket);
    }
};

QuickAckTransport& quickAckTransport() {
    static QuickAckTransport transport; // outlives every network and association
    return transport;
}

// One association to the PACS: our AE title, its AE title, host and port, bounded waits.
class Scu : public DcmSCU {
  public:
    explicit Scu(const Peer& peer) : peer_(peer) {
        setAETitle(peer.callingAe.c_str());
        setPeerAETitle(peer.aeTitle.c_str());
        setPeerHostName(peer.host.c_str());
        setPeerPort(Uint16(peer.port));
        setConnectionTimeout(15);
        setACSETimeout(30);
        setDIMSEBlockingMode(DIMSE_NONBLOCKING);
        setDIMSETimeout(peer.stallSeconds); // a PACS that stops sending ends the request
        setMaxReceivePDULength(ASC_MAXIMUMPDUSIZE > 1048576 ? 1048576 : ASC_MAXIMUMPDUSIZE);
        setVerbosePCMode(OFFalse);
        setProgressNotificationMode(OFFalse);
    }
    ~Scu() override {
        if (isConnected())
            abortAssociation();
    }

    void connect() {
        OFCondition c = initNetwork();
        if (c.good())
            c = useSecureConnection(&quickAckTransport()); // plain TCP, quick ACKs: not TLS
        if (c.bad())
            throw Failure{"other", std::string("DIMSE could not be started: ") + c.text()};
        c = negotiateAssociation();
        if (c.bad())
            throw associationFailure(c, peer_);
    }
    T_ASC_PresentationContextID context(const char* abstractSyntax) {
        const T_ASC_PresentationContextID id = findAnyPresentationContextID(abstractSyntax, "");
        if (id == 0)
            throw Failure{"refused",
                          "the PACS does not offer this service (AE title " + peer_.aeTitle + ")"};
        return id;
    }
    void finish() {
        if (isConnected())
            releaseAssociation();
    }

    // C-FIND: each pending answer's dataset; false stops the query.
    std::function<bool(DcmDataset&)> onFound;
    // C-GET: each received dataset (owned by the callee) → the C-STORE status.
    std::function<Uint16(DcmDataset*)> onStored;
    std::optional<Uint16> finalStatus;
    Uint16 failedSubops = 0, completedSubops = 0, warningSubops = 0;
    bool stoppedEarly = false;

  protected:
    OFCondition handleFINDResponse(const T_ASC_PresentationContextID presID, QRResponse* response,
                                   OFBool& waitForNextResponse) override {
        const OFCondition c = DcmSCU::handleFINDResponse(presID, response, waitForNextResponse);
        if (!response)
            return c;
        if (DICOM_PENDING_STATUS(response->m_status)) {
            if (response->m_dataset && onFound && !onFound(*response->m_dataset)) {
                waitForNextResponse = OFFalse;
                stoppedEarly = true;
            }
        } else {
            finalStatus = response->m_status;
        }
        return c;
    }
    OFCondition handleSTORERequest(const T_ASC_PresentationContextID, DcmDataset* incoming, OFBool&,
                                   Uint16& status) override {
        status = onStored ? onStored(incoming) : Uint16(STATUS_STORE_Refused_OutOfResources);
        if (!onStored)
            delete incoming;
        return EC_Normal;
    }
    OFCondition handleCGETResponse(const T_ASC_PresentationContextID presID,
                                   RetrieveResponse* response, OFBool& more) override {
        const OFCondition c = DcmSCU::handleCGETResponse(presID, response, more);
        note(response, more);
        return c;
    }
    OFCondition handleMOVEResponse(const T_ASC_PresentationContextID presID,
                                   RetrieveResponse* response, OFBool& more) override {
        const OFCondition c = DcmSCU::handleMOVEResponse(presID, response, more);
        note(response, more);
        return c;
    }

  private:
    void note(const RetrieveResponse* response, OFBool more) {
        if (!response || more)
            return;
        finalStatus = response->m_status;
        failedSubops = response->m_numberOfFailedSubops;
        completedSubops = response->m_numberOfCompletedSubops;
        warningSubops = response->m_numberOfWarningSubops;
    }
    Peer peer_;
};

// A value typed into the query: no control characters, no backslash (it would make two
// values), at most 64 characters.
std::string queryValue(const std::string& typed) {
    std::string out;
    for (char c : typed)
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f && c != '\\')
            out += c;
    if (out.size() > 64)
        out.resize(64);
    return out;
}

// What one C-FIND answer holds, as the DICOM JSON model's attribute object, so that the one
// reduction of pacs/DicomJson.h (bounded, control characters dropped, UIDs checked) applies.
// The answer's value of tag as DICOM JSON under its "ggggeeee" key (a person name by its
// alphabetic group), at most 1024 characters; nothing when the answer has none.
void addValue(json& object, DcmItem& dataset, const DcmTagKey& tag) {
    OFString value;
    if (dataset.findAndGetOFStringArray(tag, value).bad() || value.empty())
        return;
    std::string text(value.c_str(), std::min<std::size_t>(value.length(), 1024));
    while (!text.empty() && (text.back() == ' ' || text.back() == '\0'))
        text.pop_back();
    char key[9];
    std::snprintf(key, sizeof key, "%04X%04X", unsigned(tag.getGroup()),
                  unsigned(tag.getElement()));
    if (DcmTag(tag).getEVR() == EVR_PN) {
        text = text.substr(0, text.find('=')); // the alphabetic group
        object[key] = {{"Value", json::array({{{"Alphabetic", text}}})}};
    } else {
        object[key] = {{"Value", json::array({text})}};
    }
}

// Runs a C-FIND at the given level; each answer becomes a DICOM JSON object of the returned tags.
std::string find(const Peer& peer, DcmDataset& keys, std::size_t limit,
                 const std::vector<DcmTagKey>& returned) {
    Scu scu(peer);
    scu.addPresentationContext(UID_FINDStudyRootQueryRetrieveInformationModel, uncompressed());
    scu.connect();
    json objects = json::array();
    scu.onFound = [&](DcmDataset& answer) {
        answer.convertToUTF8(); // names in the PACS's character set; a failure keeps the bytes
        json object = json::object();
        for (const DcmTagKey& tag : returned)
            addValue(object, answer, tag);
        objects.push_back(std::move(object));
        return objects.size() < limit;
    };
    const OFCondition c = scu.sendFINDRequest(
        scu.context(UID_FINDStudyRootQueryRetrieveInformationModel), &keys, nullptr);
    if (c.bad() && !scu.stoppedEarly)
        throw transferFailure(c);
    if (!scu.stoppedEarly && scu.finalStatus && *scu.finalStatus != STATUS_Success)
        throw Failure{"protocol", "the PACS ended the C-FIND with status " + hex(*scu.finalStatus)};
    if (scu.stoppedEarly)
        scu.abortAssociation(); // the answers left over are not read
    else
        scu.finish();
    return objects.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A Part-10 stream written into a memfd (DCMTK's output stream over a descriptor).
class FdConsumer : public DcmConsumer {
  public:
    explicit FdConsumer(int fd) : fd_(fd) {}
    OFBool good() const override { return status_.good(); }
    OFCondition status() const override { return status_; }
    OFBool isFlushed() const override { return OFTrue; }
    offile_off_t avail() const override { return offile_off_t(1) << 30; }
    offile_off_t write(const void* buffer, offile_off_t length) override {
        const char* data = static_cast<const char*>(buffer);
        offile_off_t done = 0;
        while (status_.good() && done < length) {
            const ssize_t n = ::write(fd_, data + done, std::size_t(length - done));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                status_ = makeOFCondition(0, 1, OF_error, std::strerror(errno));
                break;
            }
            done += n;
            bytes_ += std::size_t(n);
        }
        return done;
    }
    void flush() override {}
    std::size_t bytes() const { return bytes_; }

  private:
    int fd_;
    OFCondition status_ = EC_Normal;
    std::size_t bytes_ = 0;
};

class FdOutputStream : public DcmOutputStream {
  public:
    explicit FdOutputStream(int fd) : DcmOutputStream(&consumer_), consumer_(fd) {}
    std::size_t bytes() const { return consumer_.bytes(); }

  private:
    FdConsumer consumer_;
};

// What each received dataset goes through, for C-GET and C-MOVE alike: it must belong to the
// study and series asked for, then it is written into a sealed memfd and sent on.
class Receiver {
  public:
    Receiver(std::string study, std::string series, InstanceOut out)
        : study_(std::move(study)), series_(std::move(series)), out_(std::move(out)) {}

    Uint16 take(DcmDataset* incoming) {
        DcmFileFormat file(incoming, OFFalse); // owns it from here
        OFString study, series;
        incoming->findAndGetOFString(DCM_StudyInstanceUID, study);
        incoming->findAndGetOFString(DCM_SeriesInstanceUID, series);
        std::lock_guard<std::mutex> lock(mutex_);
        if (failure_)
            return STATUS_STORE_Refused_OutOfResources;
        if (study_ != study.c_str() || series_ != series.c_str()) {
            ++foreign_;
            return STATUS_STORE_Error_DataSetDoesNotMatchSOPClass;
        }
        try {
            decoder::UniqueFd fd(
                ::memfd_create("radmark-pacs-instance", MFD_CLOEXEC | MFD_ALLOW_SEALING));
            if (!fd)
                throw Failure{"other", std::string("no memory file for an instance: ") +
                                           std::strerror(errno)};
            E_TransferSyntax xfer = incoming->getOriginalXfer();
            if (xfer == EXS_Unknown)
                xfer = EXS_LittleEndianExplicit;
            FdOutputStream stream(fd.get());
            file.transferInit();
            const OFCondition c = file.write(stream, xfer, EET_ExplicitLength, nullptr,
                                             EGL_recalcGL, EPD_noChange, 0, 0, 0, EWM_fileformat);
            file.transferEnd();
            if (c.bad())
                throw Failure{"other",
                              std::string("an instance could not be held in memory: ") + c.text()};
            decoder::sealMemfd(fd.get());
            out_(std::move(fd), stream.bytes());
            ++count_;
            return STATUS_Success;
        } catch (const Failure& failure) {
            failure_ = failure;
        } catch (const std::exception& error) {
            failure_ = Failure{"other", error.what()};
        }
        return STATUS_STORE_Refused_OutOfResources;
    }
    int count() const { return count_; }
    int foreign() const { return foreign_; }
    void rethrow() const {
        std::lock_guard<std::mutex> lock(mutex_);
        if (failure_)
            throw *failure_;
    }

  private:
    std::string study_, series_;
    InstanceOut out_;
    mutable std::mutex mutex_;
    std::optional<Failure> failure_;
    int count_ = 0;
    int foreign_ = 0;
};

// The numeric IPv4 addresses of the PACS's host (what DCMTK reports as a caller's address).
std::vector<std::string> addressesOf(const std::string& host) {
    std::vector<std::string> out;
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0)
        throw Failure{"unreachable", "the PACS's host name could not be resolved"};
    for (addrinfo* a = found; a; a = a->ai_next) {
        char text[INET_ADDRSTRLEN] = {};
        const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
        if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text))
            out.emplace_back(text);
    }
    ::freeaddrinfo(found);
    return out;
}

// The storage SCP of a C-MOVE: listens on the policy's port for the time of one retrieve,
// accepts associations from the PACS (its AE title and address) to our AE title only, and hands
// each C-STORE's dataset to the Receiver.
class MoveDestination : public DcmSCP {
  public:
    MoveDestination(const Peer& peer, Receiver& receiver) : peer_(peer), receiver_(receiver) {
        DcmSCPConfig& config = getConfig();
        config.setAETitle(peer.moveAeTitle.c_str());
        config.setPort(Uint16(peer.movePort));
        config.setConnectionBlockingMode(DUL_NOBLOCK);
        config.setConnectionTimeout(1); // how often the stop flag is looked at
        config.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
        config.setDIMSETimeout(peer.stallSeconds);
        config.setACSETimeout(30);
        config.setHostLookupEnabled(OFFalse);
        config.setTransportLayer(&quickAckTransport()); // plain TCP, quick ACKs: not TLS
        config.setMaxReceivePDULength(1048576 > ASC_MAXIMUMPDUSIZE ? ASC_MAXIMUMPDUSIZE : 1048576);
        const OFList<OFString> syntaxes = acceptedForStore();
        for (int i = 0; i < numberOfDcmAllStorageSOPClassUIDs; ++i)
            config.addPresentationContext(dcmAllStorageSOPClassUIDs[i], syntaxes,
                                          ASC_SC_ROLE_DEFAULT);
        config.addPresentationContext(UID_VerificationSOPClass, uncompressed(),
                                      ASC_SC_ROLE_DEFAULT);
    }

    // Listens before the C-MOVE is sent: a port in use is said at once. DCMTK 3.6 binds every
    // address; the associations it accepts are the PACS's only (AE titles and address below).
    void open() {
        allowed_ = addressesOf(peer_.host);
        const OFCondition c = openListenPort();
        if (c.bad())
            throw Failure{"other", "the storage SCP for C-MOVE could not listen on port " +
                                       std::to_string(peer_.movePort) + " (" + c.text() + ")"};
        thread_ = std::thread([this] { acceptAssociations(); });
    }
    void close() {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    ~MoveDestination() override { close(); }

  protected:
    OFBool checkCalledAETitleAccepted(const OFString& called) override {
        return called == peer_.moveAeTitle.c_str();
    }
    OFBool checkCallingAETitleAccepted(const OFString& calling) override {
        return calling == peer_.aeTitle.c_str(); // the PACS of this node, no one else
    }
    void notifyAssociationRequest(const T_ASC_Parameters& params,
                                  DcmSCPActionType& action) override {
        const std::string from = params.DULparams.callingPresentationAddress;
        if (std::find(allowed_.begin(), allowed_.end(), from) == allowed_.end())
            action = DCMSCP_ACTION_REFUSE_ASSOCIATION; // not the PACS's address
    }
    OFBool stopAfterConnectionTimeout() override { return stop_.load(); }
    OFBool stopAfterCurrentAssociation() override { return stop_.load(); }
    OFCondition handleIncomingCommand(T_DIMSE_Message* message,
                                      const DcmPresentationContextInfo& context) override {
        if (message->CommandField != DIMSE_C_STORE_RQ)
            return DcmSCP::handleIncomingCommand(message, context); // C-ECHO; others refused
        T_DIMSE_C_StoreRQ& request = message->msg.CStoreRQ;
        DcmDataset* dataset = nullptr;
        OFCondition c = receiveSTORERequest(request, context.presentationContextID, dataset);
        if (c.bad()) {
            delete dataset;
            return c;
        }
        const Uint16 status = receiver_.take(dataset);
        return sendSTOREResponse(context.presentationContextID, request, status);
    }

  private:
    Peer peer_;
    Receiver& receiver_;
    std::vector<std::string> allowed_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// The storage SOP classes a C-GET asks the PACS to send (SCP role): DCMTK's list for SCUs that
// propose many, and the SR and presentation state classes (received, then named and skipped
// by the import). At most 127 presentation contexts beside the C-GET's own.
std::vector<std::string> getStorageClasses() {
    std::vector<std::string> classes;
    const auto add = [&](const char* uid) {
        if (classes.size() < 120 && std::find(classes.begin(), classes.end(), uid) == classes.end())
            classes.push_back(uid);
    };
    for (const char* uid : {UID_CTImageStorage, UID_MRImageStorage, UID_ComprehensiveSRStorage,
                            UID_BasicTextSRStorage, UID_EnhancedSRStorage,
                            UID_GrayscaleSoftcopyPresentationStateStorage})
        add(uid);
    for (int i = 0; i < numberOfDcmLongSCUStorageSOPClassUIDs; ++i)
        add(dcmLongSCUStorageSOPClassUIDs[i]);
    return classes;
}

} // namespace

json echo(const json& request) {
    initialise();
    const Peer peer = peerFrom(request);
    Scu scu(peer);
    scu.addPresentationContext(UID_VerificationSOPClass, uncompressed());
    scu.connect();
    const OFCondition c = scu.sendECHORequest(scu.context(UID_VerificationSOPClass));
    if (c.bad())
        throw transferFailure(c);
    scu.finish();
    return {{"echo", "ok"}};
}

json queryStudies(const json& request) {
    initialise();
    const Peer peer = peerFrom(request);
    const json& q = request.at("query");
    DcmDataset keys;
    keys.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
    keys.putAndInsertString(DCM_StudyInstanceUID, "");
    keys.putAndInsertString(DCM_PatientID, queryValue(q.value("patientId", "")).c_str());
    keys.putAndInsertString(DCM_PatientName, queryValue(q.value("patientName", "")).c_str());
    keys.putAndInsertString(DCM_AccessionNumber,
                            queryValue(q.value("accessionNumber", "")).c_str());
    const std::string from = queryValue(q.value("dateFrom", "")),
                      to = queryValue(q.value("dateTo", ""));
    const std::string dates = from.empty() && to.empty() ? "" : from == to ? from : from + "-" + to;
    keys.putAndInsertString(DCM_StudyDate, dates.c_str());
    keys.putAndInsertString(DCM_ModalitiesInStudy, queryValue(q.value("modality", "")).c_str());
    keys.putAndInsertString(DCM_StudyDescription,
                            queryValue(q.value("studyDescription", "")).c_str());
    keys.putAndInsertString(DCM_NumberOfStudyRelatedSeries, "");
    keys.putAndInsertString(DCM_NumberOfStudyRelatedInstances, "");
    const std::size_t limit = std::size_t(std::clamp(q.value("limit", 500), 1, 10000));
    const std::string objects =
        find(peer, keys, limit,
             {DCM_StudyInstanceUID, DCM_PatientID, DCM_PatientName, DCM_AccessionNumber,
              DCM_StudyDate, DCM_ModalitiesInStudy, DCM_StudyDescription,
              DCM_NumberOfStudyRelatedSeries, DCM_NumberOfStudyRelatedInstances});
    return {{"studies", studiesFromDicomJson(objects)}};
}

json querySeries(const json& request) {
    initialise();
    const Peer peer = peerFrom(request);
    const std::string study = request.at("study").get<std::string>();
    if (!validUid(study))
        throw Failure{"other", "not a valid Study Instance UID"};
    DcmDataset keys;
    keys.putAndInsertString(DCM_QueryRetrieveLevel, "SERIES");
    keys.putAndInsertString(DCM_StudyInstanceUID, study.c_str());
    keys.putAndInsertString(DCM_SeriesInstanceUID, "");
    keys.putAndInsertString(DCM_Modality, "");
    keys.putAndInsertString(DCM_SeriesDescription, "");
    keys.putAndInsertString(DCM_SeriesNumber, "");
    keys.putAndInsertString(DCM_NumberOfSeriesRelatedInstances, "");
    const std::string objects = find(peer, keys, 10000,
                                     {DCM_SeriesInstanceUID, DCM_Modality, DCM_SeriesDescription,
                                      DCM_SeriesNumber, DCM_NumberOfSeriesRelatedInstances});
    return {{"series", seriesFromDicomJson(objects)}};
}

json retrieveSeries(const json& request, const InstanceOut& out) {
    initialise();
    const Peer peer = peerFrom(request);
    const std::string study = request.at("study").get<std::string>();
    const std::string series = request.at("series").get<std::string>();
    if (!validUid(study) || !validUid(series))
        throw Failure{"other", "not a valid Study or Series Instance UID"};
    std::mutex sending; // the C-MOVE's SCP thread sends on the channel
    Receiver receiver(study, series, [&](decoder::UniqueFd fd, std::size_t bytes) {
        std::lock_guard<std::mutex> lock(sending);
        out(std::move(fd), bytes);
    });
    DcmDataset keys;
    keys.putAndInsertString(DCM_QueryRetrieveLevel, "SERIES");
    keys.putAndInsertString(DCM_StudyInstanceUID, study.c_str());
    keys.putAndInsertString(DCM_SeriesInstanceUID, series.c_str());

    Scu scu(peer);
    std::optional<MoveDestination> destination;
    const char* model = peer.move ? UID_MOVEStudyRootQueryRetrieveInformationModel
                                  : UID_GETStudyRootQueryRetrieveInformationModel;
    scu.addPresentationContext(model, uncompressed());
    OFCondition c;
    if (peer.move) {
        destination.emplace(peer, receiver);
        destination->open();
        scu.connect();
        c = scu.sendMOVERequest(scu.context(model), peer.moveAeTitle.c_str(), &keys, nullptr);
    } else {
        const OFList<OFString> syntaxes = uncompressed();
        for (const auto& uid : getStorageClasses())
            scu.addPresentationContext(uid.c_str(), syntaxes, ASC_SC_ROLE_SCP);
        scu.onStored = [&](DcmDataset* dataset) { return receiver.take(dataset); };
        scu.connect();
        c = scu.sendCGETRequest(scu.context(model), &keys, nullptr);
    }
    if (destination)
        destination->close(); // every C-STORE of the C-MOVE came before its last answer
    receiver.rethrow();
    if (c.bad())
        throw transferFailure(c);
    const char* what = peer.move ? "C-MOVE" : "C-GET";
    if (!scu.finalStatus)
        throw Failure{"protocol",
                      std::string("the PACS ended the ") + what + " without a final answer"};
    // A C-MOVE refused before any instance was sent: the destination, most often (0xa801 says
    // so; Orthanc answers 0xc000).
    if (peer.move && receiver.count() == 0 && scu.completedSubops == 0 &&
        (*scu.finalStatus == 0xA801 || (*scu.finalStatus & 0xF000) == 0xC000))
        throw Failure{"refused", "the PACS refused the C-MOVE (status " + hex(*scu.finalStatus) +
                                     "): does it know the destination " + peer.moveAeTitle +
                                     " at this workstation's address and port " +
                                     std::to_string(peer.movePort) + "?"};
    if (scu.failedSubops > 0 || receiver.foreign() > 0 ||
        (*scu.finalStatus != STATUS_Success && *scu.finalStatus != 0xB000))
        throw Failure{
            "protocol",
            std::string("the PACS ended the ") + what + " with status " + hex(*scu.finalStatus) +
                " (" + std::to_string(scu.failedSubops) + " instance(s) not sent" +
                (receiver.foreign()
                     ? ", " + std::to_string(receiver.foreign()) + " of another series refused"
                     : std::string()) +
                ")"};
    scu.finish();
    return {{"instances", receiver.count()}};
}

} // namespace radmark::pacs::dimse
