#pragma once
// Command-line arguments after the command name: positionals, "--name value" options and
// "--flag" switches. Unknown or missing options are CommandErrors with a clear message.

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace radmark::cli {

class Arguments {
public:
    // flags: option names that take no value (e.g. "password-stdin").
    Arguments(std::vector<std::string> words, std::set<std::string> flags = {});

    // Re-parses with the given switch names (the command knows which options take no value).
    void declareFlags(std::set<std::string> flags);

    std::optional<std::string> option(const std::string& name) const; // the last one given
    std::vector<std::string> all(const std::string& name) const;     // every one, in order
    std::string required(const std::string& name) const;
    bool flag(const std::string& name) const;
    const std::vector<std::string>& positionals() const { return positionals_; }
    std::string positional(std::size_t index, const std::string& what) const;

    // Throws when an option was given that the command does not know.
    void allowOnly(const std::set<std::string>& names) const;

private:
    void parse();
    std::vector<std::string> words_;
    std::set<std::string> flags_;
    std::vector<std::string> positionals_;
    std::vector<std::pair<std::string, std::string>> options_;
    std::set<std::string> switches_;
};

} // namespace radmark::cli
