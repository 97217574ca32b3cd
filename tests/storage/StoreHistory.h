#pragma once
// A store with some history for the access-log tests: users, studies, assignments and a few
// saves (about 20 entries), sessions logged out.

#include "StoreTestSupport.h"
#include "storage/Annotations.h"
#include "storage/Studies.h"
#include "storage/Users.h"

#include <cstdint>
#include <string>

namespace radmark::storage::testing {

inline void addHistory(TestStore& t) {
    auto admin = t.admin();
    Users(admin).add("anna", Role::Annotator, userPassword);
    for (int i = 0; i < 3; ++i) {
        const auto id = Studies(admin).add("study-" + std::to_string(i), "");
        Studies(admin).assign("anna", id);
    }
    auto anna = t.store.login("anna", userPassword);
    for (const auto& study : Studies(anna).list()) {
        Studies(anna).open(study.id);
        const std::uint8_t b[] = {std::uint8_t(study.id)};
        Annotations(anna).save(study.id, b, "draft");
    }
}

} // namespace radmark::storage::testing
