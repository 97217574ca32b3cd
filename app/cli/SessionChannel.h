#pragma once
// The session channel between a front end and radmarkd's worker (service session): one request,
// then the worker's Progress messages, each of which the client may answer with a request of its
// own (a cancel, a password), then the reply. The client's loop is here, so the workstation,
// radmark-cli --via and the tests speak it the same way.

#include "imaging/decoder/Channel.h"

#include <nlohmann/json.hpp>

#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace radmark::cli {

// What the client does with a Progress message that arrives before the reply: nothing, or a
// message to send back (a cancel, an answer).
using ProgressAnswer =
    std::function<std::optional<decoder::Message>(const decoder::Message& progress)>;
// Sends a request on the session and returns its reply; a Failure throws StoreAccessError.
using SessionCall =
    std::function<decoder::Message(decoder::Message request, const ProgressAnswer& progress)>;

// Sends request (as a Request) on channel; each Progress message before the reply goes to
// progress (when given) and what it answers goes back as a Request. Returns the reply or the
// Failure, as the worker sent it. Throws decoder::ChannelError when the channel ends first.
decoder::Message exchange(int channel, decoder::Message request, const ProgressAnswer& progress);

// The worker's reply to a request: body as a Reply message.
decoder::Message replyMessage(nlohmann::json body = nlohmann::json::object());

// What read returns, or StoreAccessError(damaged) when it throws: a value from the other side
// that is not what it should be is refused in words, whatever the JSON library said.
[[noreturn]] void refuseUnreadable(const char* damaged);
template <class Value, class Read> Value readOrRefuse(const char* damaged, const Read& read) {
    try {
        return read();
    } catch (const std::exception&) {
        refuseUnreadable(damaged);
    }
}

// A cancel or an answer that reached the worker after the export it was for had ended: the
// session drops it without a reply (a reply would be taken for the next request's).
bool isLateAnswer(const decoder::Message& request);

// The client's answer to the notes of a long request (an export, a PACS retrieve): each Progress
// {stage, fraction} goes to progress, and the first time it returns false a request {op: cancel}
// goes back; each question {ask} goes to askPassword (on the calling thread) and her password
// back as {op: answer, given} with the password in a sealed memfd (none: given false).
ProgressAnswer
answerProgress(std::function<bool(double fraction, const std::string& stage)> progress,
               std::function<std::optional<std::string>(const std::string& question)> askPassword);

// The worker's side of the channel while a long request runs: its notes out, and in, without
// waiting, the client's cancel at each note; a question out and her answer in. A client that
// went away cancels (as Cancel does).
class ProgressChannel {
  public:
    explicit ProgressChannel(int channel) : channel_(channel) {}
    // False once she cancelled (or went away): the request stops.
    bool progress(double fraction, const std::string& stage);
    // Her answer (waits up to 10 min: she types it); none when she gave none or cancelled.
    std::optional<std::string> askPassword(const std::string& question);
    bool cancelled() const { return cancelled_; }

  private:
    void take(const decoder::Message& in);

    int channel_;
    bool cancelled_ = false;
    std::optional<std::optional<std::string>> answer_;
};

} // namespace radmark::cli
