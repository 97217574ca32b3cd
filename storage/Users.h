#pragma once
// Accounts on the store: adding one (with its keyring entry), listing, disabling (its keyring
// entry goes), passwords and roles. Admin only, except that everyone changes their own password.

#include "storage/Session.h"

#include <string>
#include <vector>

namespace radmark::storage {

class Users {
  public:
    explicit Users(Session& session) : session_(session) {}

    void add(const std::string& name, Role role, const std::string& password);
    std::vector<UserInfo> list();
    void disable(const std::string& name); // also deletes its keyring entry; not one's own
    void changePassword(const std::string& name, const std::string& newPassword);
    void setRole(const std::string& name, Role role); // not one's own role

  private:
    Session& session_;
};

} // namespace radmark::storage
