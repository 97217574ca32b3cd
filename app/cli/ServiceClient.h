#pragma once
// radmark-cli --service SOCKET COMMAND ...: the command runs inside radmarkd, the store service,
// on this process's stdin, stdout, stderr and terminal (passed over the socket); this process
// waits and exits with the command's status (docs/service.md).

#include <optional>
#include <string>
#include <vector>

namespace radmark::cli {

// The socket of "--service SOCKET" (or "--service=SOCKET") at the front of words, which are
// then the command's words; nothing when words do not start so. Throws CommandError without a
// socket.
std::optional<std::string> takeServiceSocket(std::vector<std::string>& words);

// Errors (no service, connection refused) are one line on stderr and exit status 1.
int runThroughService(const std::string& socketPath, const std::vector<std::string>& words);

} // namespace radmark::cli
