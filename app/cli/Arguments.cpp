#include "app/cli/Arguments.h"

#include "app/cli/Command.h"

namespace radmark::cli {

Arguments::Arguments(std::vector<std::string> words, std::set<std::string> flags)
    : words_(std::move(words)), flags_(std::move(flags)) {
    parse();
}

void Arguments::declareFlags(std::set<std::string> flags) {
    flags_ = std::move(flags);
    parse();
}

void Arguments::parse() {
    positionals_.clear();
    options_.clear();
    switches_.clear();
    for (std::size_t i = 0; i < words_.size(); ++i) {
        const std::string& w = words_[i];
        if (w.size() > 2 && w.rfind("--", 0) == 0) {
            std::string name = w.substr(2);
            if (auto eq = name.find('='); eq != std::string::npos) {
                options_.emplace_back(name.substr(0, eq), name.substr(eq + 1));
            } else if (flags_.count(name)) {
                switches_.insert(name);
            } else if (i + 1 < words_.size()) {
                options_.emplace_back(name, words_[++i]);
            } else {
                switches_.insert(name); // a value-less trailing option; required() reports it
            }
        } else {
            positionals_.push_back(w);
        }
    }
}

std::optional<std::string> Arguments::option(const std::string& name) const {
    for (auto it = options_.rbegin(); it != options_.rend(); ++it)
        if (it->first == name)
            return it->second;
    return std::nullopt;
}

std::vector<std::string> Arguments::all(const std::string& name) const {
    std::vector<std::string> values;
    for (const auto& [option, value] : options_)
        if (option == name)
            values.push_back(value);
    return values;
}

std::string Arguments::required(const std::string& name) const {
    if (auto v = option(name))
        return *v;
    throw CommandError("missing --" + name, 2);
}

bool Arguments::flag(const std::string& name) const {
    return switches_.count(name) > 0;
}

std::string Arguments::positional(std::size_t index, const std::string& what) const {
    if (index < positionals_.size())
        return positionals_[index];
    throw CommandError("missing " + what, 2);
}

void Arguments::allowOnly(const std::set<std::string>& names) const {
    for (const auto& [name, value] : options_)
        if (!names.count(name))
            throw CommandError("unknown option --" + name, 2);
    for (const auto& name : switches_)
        if (!names.count(name))
            throw CommandError("unknown option --" + name, 2);
}

} // namespace radmark::cli
