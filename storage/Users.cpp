#include "storage/Users.h"

#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

#include <cstdio>
#include <ctime>

namespace radmark::storage {

namespace {

// Printable text of at most 200 characters, no control characters.
std::string checkedCredentialText(const std::string& text, const char* what) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos)
        throw InvalidRequestError(std::string("the ") + what + " must not be empty");
    const std::string trimmed = text.substr(first, text.find_last_not_of(" \t") - first + 1);
    if (trimmed.size() > 200)
        throw InvalidRequestError(std::string("the ") + what + " is longer than 200 characters");
    for (unsigned char c : trimmed)
        if (c < 0x20 || c == 0x7f)
            throw InvalidRequestError(std::string("the ") + what +
                                      " must not hold control characters");
    return trimmed;
}

// A real calendar date YYYY-MM-DD, not after today (UTC).
void checkPastDate(const std::string& date) {
    int y = 0, m = 0, d = 0;
    char rest = 0;
    const bool shaped = date.size() == 10 && date[4] == '-' && date[7] == '-' &&
                        std::sscanf(date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &rest) == 3;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    const std::time_t t = shaped ? timegm(&tm) : std::time_t(-1);
    std::tm back{};
    if (t != std::time_t(-1))
        gmtime_r(&t, &back);
    if (!shaped || y < 1900 || t == std::time_t(-1) || back.tm_mday != d || back.tm_mon != m - 1)
        throw InvalidRequestError("the training date must be a date YYYY-MM-DD (got '" + date +
                                  "')");
    if (date > utcNow().substr(0, 10))
        throw InvalidRequestError("the training date " + date + " is in the future");
}

} // namespace

void Users::add(const std::string& name, Role role, const std::string& password) {
    require(session_, Action::AddUser, name);
    session_.touch();
    internal::checkUserName(name);
    session_.store().policy().checkPassword(password);
    Keyring keyring = Keyring::load(session_.store().keyringPath());
    const Bytes id = keyring.userIdFor(name);
    {
        auto s = SessionAccess::database(session_).prepare(
            "SELECT 1 FROM users WHERE name = ? OR lookup = ?");
        s.bind(1, name).bindBlob(2, id);
        if (s.step())
            throw InvalidRequestError("a user named " + name + " already exists");
    }
    keyring.addPassword(id, password, SessionAccess::databaseKey(session_),
                        session_.store().policy());
    // Database first: should the keyring write fail, the account exists but cannot log in yet.
    SessionAccess::recorded(
        session_, "user add", name, "role " + roleName(role), [&](Database& db) {
            db.prepare("INSERT INTO users(lookup, name, role, created) VALUES (?, ?, ?, ?)")
                .bindBlob(1, id)
                .bind(2, name)
                .bind(3, roleName(role))
                .bind(4, utcNow())
                .run();
        });
    keyring.save(session_.store().keyringPath());
}

std::vector<UserInfo> Users::list() {
    require(session_, Action::ListUsers);
    session_.touch();
    auto s = SessionAccess::database(session_).prepare(
        "SELECT id, name, role, disabled, created FROM users ORDER BY name");
    std::vector<UserInfo> out;
    while (s.step())
        out.push_back(internal::readUser(s));
    return out;
}

KeyRotationResult Users::disable(const std::string& name, const KeyRotationProgress& progress) {
    require(session_, Action::DisableUser, name);
    session_.touch();
    const UserInfo user = internal::findUser(session_, name);
    if (user.id == SessionAccess::userId(session_))
        throw InvalidRequestError("you cannot disable your own account");
    Keyring keyring = Keyring::load(session_.store().keyringPath());
    // Keyring first: once its wrapped key is gone the account cannot open the store again.
    keyring.remove(keyring.userIdFor(name));
    keyring.save(session_.store().keyringPath());
    SessionAccess::recorded(
        session_, "user disable", name, "keyring entry deleted; the key is rotated",
        [&](Database& db) {
            db.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(1, user.id).run();
        });
    // A copy of the keyring taken before still opens the old key: the database gets a new one.
    try {
        return rotateDatabaseKey(session_, "user " + name + " disabled", progress);
    } catch (const PermissionDeniedError&) {
        throw;
    } catch (const StoreError& e) {
        throw StoreError("the account " + name + " is disabled, but " + e.what() +
                         ": rotate the key again (radmark-cli store rotate-key)");
    }
}

void Users::changePassword(const std::string& name, const std::string& newPassword) {
    const bool own = name == session_.userName() && !session_.isBreakGlass();
    require(session_, own ? Action::ChangeOwnPassword : Action::SetAnotherUsersPassword, name);
    session_.touch();
    const UserInfo user = internal::findUser(session_, name);
    if (user.disabled)
        throw InvalidRequestError("the account " + name + " is disabled");
    session_.store().policy().checkPassword(newPassword);
    Keyring keyring = Keyring::load(session_.store().keyringPath());
    keyring.addPassword(keyring.userIdFor(name), newPassword, SessionAccess::databaseKey(session_),
                        session_.store().policy());
    SessionAccess::recorded(session_, "user passwd", name,
                            name == session_.userName() ? "own password" : "set by admin",
                            [&](Database&) { keyring.save(session_.store().keyringPath()); });
}

void Users::setRole(const std::string& name, Role role) {
    require(session_, Action::ChangeRole, name);
    session_.touch();
    const UserInfo user = internal::findUser(session_, name);
    if (user.id == SessionAccess::userId(session_))
        throw InvalidRequestError("you cannot change your own role");
    SessionAccess::recorded(
        session_, "role change", name, roleName(user.role) + " -> " + roleName(role),
        [&](Database& db) {
            db.prepare("UPDATE users SET role = ? WHERE id = ?")
                .bind(1, roleName(role))
                .bind(2, user.id)
                .run();
            if (role != Role::Annotator) // assignments are for annotators only
                db.prepare("DELETE FROM assignments WHERE user_id = ?").bind(1, user.id).run();
        });
}

void Users::setCredentials(const std::string& name, const Credentials& credentials) {
    require(session_, Action::SetUserCredentials, name);
    session_.touch();
    const UserInfo user = internal::findUser(session_, name);
    const std::string title = checkedCredentialText(credentials.title, "role title");
    const std::string qualification =
        checkedCredentialText(credentials.qualification, "qualification");
    if (credentials.yearsOfExperience < 0 || credentials.yearsOfExperience > 80)
        throw InvalidRequestError("years of experience must be between 0 and 80");
    checkPastDate(credentials.trainingDate);
    const std::string details = title + "; " + qualification + "; " +
                                std::to_string(credentials.yearsOfExperience) + " years; trained " +
                                credentials.trainingDate;
    const std::int64_t admin = SessionAccess::userId(session_);
    SessionAccess::recorded(session_, "user credentials", name, details, [&](Database& db) {
        auto s = db.prepare("UPDATE users SET credential_title = ?, credential_qualification = ?, "
                            "credential_years = ?, credential_trained = ?, "
                            "credential_updated = ?, credential_updated_by = ? WHERE id = ?");
        s.bind(1, title)
            .bind(2, qualification)
            .bind(3, std::int64_t(credentials.yearsOfExperience));
        s.bind(4, credentials.trainingDate).bind(5, utcNow());
        // Break-glass has no user row: the log names who entered them.
        if (admin != 0)
            s.bind(6, admin);
        else
            s.bindNull(6);
        s.bind(7, user.id).run();
    });
}

std::optional<Credentials> Users::credentials(const std::string& name) {
    require(session_, Action::ListUsers, name);
    const UserInfo user = internal::findUser(session_, name);
    return internal::readCredentials(session_, user.id);
}

} // namespace radmark::storage
