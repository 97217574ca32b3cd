#include "app/cli/SessionChannel.h"

#include "app/cli/AdminOps.h"
#include "app/cli/StoreAccess.h"

#include <algorithm>
#include <memory>

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

Message replyMessage(nlohmann::json body) {
    Message m;
    m.kind = MessageKind::Reply;
    m.body = std::move(body);
    return m;
}

void refuseUnreadable(const char* damaged) {
    throw StoreAccessError(damaged);
}

bool isLateAnswer(const Message& request) {
    if (request.kind != MessageKind::Request || !request.body.is_object())
        return false;
    const nlohmann::json op = request.body.value("op", nlohmann::json());
    return op == "cancel" || op == "answer";
}

ProgressAnswer
answerProgress(std::function<bool(double, const std::string&)> progress,
               std::function<std::optional<std::string>(const std::string&)> askPassword) {
    auto cancelSent = std::make_shared<bool>(false);
    return [progress = std::move(progress), askPassword = std::move(askPassword),
            cancelSent](const Message& note) -> std::optional<Message> {
        Message back;
        back.kind = MessageKind::Request;
        if (note.body.is_object() && note.body.contains("ask")) {
            std::optional<std::string> password;
            if (askPassword)
                password = askPassword(note.body.value("ask", std::string()));
            back.body = {{"op", "answer"}, {"given", password.has_value()}};
            if (password) {
                back.fds.push_back(
                    decoder::memfdWithBytes("radmark-secret", password->data(), password->size()));
                std::fill(password->begin(), password->end(), '\0');
            }
            return back;
        }
        const bool goOn =
            !progress || !note.body.is_object() ||
            progress(note.body.value("fraction", 0.0), note.body.value("stage", std::string()));
        if (goOn || *cancelSent)
            return std::nullopt;
        *cancelSent = true;
        back.body = {{"op", "cancel"}};
        return back;
    };
}

bool ProgressChannel::progress(double fraction, const std::string& stage) {
    if (cancelled_)
        return false;
    Message note;
    note.kind = MessageKind::Progress;
    note.body = {{"stage", stage}, {"fraction", fraction}};
    try {
        decoder::sendMessage(channel_, note);
        Message in;
        while (!cancelled_ && decoder::receiveMessage(channel_, in, 0))
            take(in);
    } catch (const decoder::ChannelError&) {
        cancelled_ = true;
    }
    return !cancelled_;
}

std::optional<std::string> ProgressChannel::askPassword(const std::string& question) {
    if (cancelled_)
        return std::nullopt;
    Message note;
    note.kind = MessageKind::Progress;
    note.body = {{"ask", question}};
    try {
        decoder::sendMessage(channel_, note);
        // Her answer may take a while (she types it); a cancel sent before it is kept.
        answer_.reset();
        Message in;
        while (!answer_) {
            if (!decoder::receiveMessage(channel_, in, 10 * 60 * 1000))
                throw decoder::ChannelError("no answer");
            take(in);
        }
    } catch (const decoder::ChannelError&) {
        cancelled_ = true;
        return std::nullopt;
    }
    std::optional<std::string> password = std::move(*answer_);
    answer_.reset();
    return password;
}

void ProgressChannel::take(const Message& in) {
    if (!in.body.is_object())
        throw decoder::ChannelError("a message that is not a request");
    const std::string op = in.body.value("op", std::string());
    if (op == "cancel") {
        cancelled_ = true;
    } else if (op == "answer") {
        std::optional<std::string> password;
        if (in.body.value("given", false) && in.fds.size() == 1) {
            try {
                const storage::SecureBytes secret =
                    secretFromMemfd(in.fds.front().get(), maxPasswordBytes);
                password.emplace(reinterpret_cast<const char*>(secret.data()), secret.size());
            } catch (const StoreAccessError&) {
                // not a password she gave: asked again or refused by the check behind it
            }
        }
        answer_.emplace(std::move(password));
    } else {
        throw decoder::ChannelError("a request came before the reply to the one running");
    }
}

} // namespace radmark::cli
