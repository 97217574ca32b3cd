#pragma once
// radmark-cli commands. Each command lives in its own file and registers itself with one line:
//   RADMARK_COMMAND("info", "PATH  describe the series at PATH", runInfo);
// Two-word names ("bench open", "user add") are matched before one-word names.
// A command is a thin shell over library functions the GUI calls too.

#include "app/cli/Arguments.h"

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace radmark::cli {

// A failure to report as one line on stderr with a non-zero exit.
struct CommandError : std::runtime_error {
    using std::runtime_error::runtime_error;
    CommandError(const std::string& message, int exitCode)
        : std::runtime_error(message), exitCode(exitCode) {}
    int exitCode = 1;
};

struct CommandIo {
    std::istream& in;
    std::ostream& out;
    std::ostream& err;
};

using CommandFunction = std::function<int(Arguments&, CommandIo&)>;

struct Command {
    std::string name;
    std::string usage;
    CommandFunction run;
};

bool registerCommand(Command command);
const std::vector<Command>& commands();

// One command line (the words after the program name) on std::cin/cout/cerr: the command's exit
// status, its errors reported as one line. radmark-cli's main and the store service's workers.
int runCommandLine(std::vector<std::string> words);

} // namespace radmark::cli

#define RADMARK_CLI_CONCAT_(a, b) a##b
#define RADMARK_CLI_CONCAT(a, b) RADMARK_CLI_CONCAT_(a, b)
#define RADMARK_COMMAND(name, usage, function)                                                     \
    static const bool RADMARK_CLI_CONCAT(radmarkCommandRegistered_, __LINE__) =                    \
        ::radmark::cli::registerCommand({name, usage, function})
