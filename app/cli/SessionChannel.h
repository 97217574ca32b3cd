#pragma once
// The session channel between a front end and radmarkd's worker (service session): one request,
// then the worker's Progress messages, each of which the client may answer with a request of its
// own (a cancel, a password), then the reply. The client's loop is here, so the workstation,
// radmark-cli --via and the tests speak it the same way.

#include "imaging/decoder/Channel.h"

#include <functional>
#include <optional>

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

// A cancel or an answer that reached the worker after the export it was for had ended: the
// session drops it without a reply (a reply would be taken for the next request's).
bool isLateAnswer(const decoder::Message& request);

} // namespace radmark::cli
