#include "podpromo/core/word_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace podpromo {

using nlohmann::json;

json WordsToJson(const std::vector<Word>& words) {
    json a = json::array();
    for (const auto& w : words) a.push_back({w.text, w.start_ms, w.end_ms, std::round(w.confidence * 1000) / 1000});
    return a;
}

Result<std::vector<Word>> WordsFromJson(const json& list) {
    if (!list.is_array()) return Status::InvalidInput("stored words are not a list");
    std::vector<Word> out;
    out.reserve(list.size());
    for (const auto& w : list) {
        if (!w.is_array() || w.size() != 4 || !w[0].is_string() || !w[1].is_number_integer() ||
            !w[2].is_number_integer() || !w[3].is_number()) {
            return Status::InvalidInput("a stored word is not [text, start, end, confidence]");
        }
        out.push_back({w[0].get<std::string>(), w[1].get<Ms>(), w[2].get<Ms>(), w[3].get<double>()});
    }
    return out;
}

}  // namespace podpromo
