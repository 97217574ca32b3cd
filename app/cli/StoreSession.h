#pragma once
// What every store command shares: where the store is (--store, RADMARK_STORE, XDG), the policy
// (the site's; --policy FILE may only tighten it, never loosen), who logs in (--user, or --as when --user is a filter, or
// --break-glass REASON with the recovery key)
// and how secrets are read: from the terminal with echo off, or one line each from stdin with
// --password-stdin. Never from an argument.

#include "app/cli/Command.h"
#include "storage/Store.h"
#include "storage/StudyImport.h"

#include <set>
#include <string>

namespace radmark::cli {

// Options every store command accepts, to merge into allowOnly().
std::set<std::string> storeOptions(std::set<std::string> own = {});
// Declares the store switches (--password-stdin) on args.
void declareStoreFlags(Arguments& args, std::set<std::string> extra = {});

storage::Store openStore(const Arguments& args);
storage::Session loginFromArguments(const Arguments& args, CommandIo& io);

// One secret: the next stdin line with --password-stdin, else the terminal with echo off.
std::string readSecret(const Arguments& args, CommandIo& io, const std::string& prompt);
// A new password: asked twice on a terminal, once from stdin.
std::string readNewPassword(const Arguments& args, CommandIo& io, const std::string& prompt);

// One line for a study an import stored or did not (on stdout when imported or already in the
// store, else on stderr), named by subject (its source, or its UID on the PACS), then its
// warnings. Returns whether it was imported or already in the store.
bool reportImportResult(const std::string& subject, const storage::StudyImportResult& r,
                        CommandIo& io);

// Writes a secret to a new file only its owner can read; refuses to overwrite.
void writeSecretFile(const std::string& path, const std::string& text);

} // namespace radmark::cli
