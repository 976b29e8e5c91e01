// Reading rows into structs with SOCI, private to the store.
#pragma once

#include <soci/soci.h>

#include <functional>
#include <string>
#include <vector>

namespace podpromo {

// Runs `sql` with the parameters `uses` binds, and returns each row as Binder::Get() builds it from the columns
// Binder::Bind binds (in the order of the SELECT).
template <typename Binder>
auto FetchAll(soci::session& s, const std::string& sql, const std::function<void(soci::statement&)>& uses) {
    Binder b;
    soci::statement st(s);
    st.alloc();
    b.Bind(st);
    uses(st);
    st.prepare(sql);
    st.define_and_bind();
    st.execute(false);
    std::vector<decltype(b.Get())> out;
    while (st.fetch()) out.push_back(b.Get());
    return out;
}

}  // namespace podpromo
