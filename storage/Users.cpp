#include "storage/Users.h"

#include "storage/Permissions.h"
#include "storage/SessionAccess.h"

namespace radmark::storage {

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

void Users::disable(const std::string& name) {
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
        session_, "user disable", name, "keyring entry deleted", [&](Database& db) {
            db.prepare("UPDATE users SET disabled = 1 WHERE id = ?").bind(1, user.id).run();
        });
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

} // namespace radmark::storage
