// Finding a named entry in a table, private to src/scoring.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/status.h"

namespace podpromo {

// The entry of `table` whose `.name` is `name`, or InvalidInput "unknown <what> '<name>' (choose <prefix>one
// of a, b, c)".
template <typename T>
Result<T> FindByName(const std::vector<T>& table, std::string_view name, const char* what, const char* prefix = "") {
    std::string names;
    for (const auto& entry : table) {
        if (entry.name == name) return entry;
        names += (names.empty() ? "" : ", ") + entry.name;
    }
    return Status::InvalidInput("unknown " + std::string(what) + " '" + std::string(name) + "' (choose " + prefix +
                                "one of " + names + ")");
}

}  // namespace podpromo
