#include "app/cli/SessionChannel.h"

namespace radmark::cli {

using decoder::Message;
using decoder::MessageKind;

Message exchange(int channel, Message request, const ProgressAnswer& progress) {
    request.kind = MessageKind::Request;
    decoder::sendMessage(channel, request);
    request.fds.clear(); // the worker has its own copies of the descriptors now
    Message reply;
    while (true) {
        if (!decoder::receiveMessage(channel, reply))
            throw decoder::ChannelError("no reply");
        if (reply.kind != MessageKind::Progress)
            return reply;
        if (!progress)
            continue;
        if (std::optional<Message> back = progress(reply)) {
            back->kind = MessageKind::Request;
            decoder::sendMessage(channel, *back);
        }
    }
}

bool isLateAnswer(const Message& request) {
    if (request.kind != MessageKind::Request || !request.body.is_object())
        return false;
    const nlohmann::json op = request.body.value("op", nlohmann::json());
    return op == "cancel" || op == "answer";
}

} // namespace radmark::cli
