// make_episode SCRIPT.tsv OUT.wav [TIMELINE.json]: synthesises a test or demo episode with flite.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "testsupport.h"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: make_episode SCRIPT.tsv OUT.wav [TIMELINE.json]\n";
        return 2;
    }
    auto script = podpromo::testing::LoadScript(argv[1]);
    if (!script.ok()) {
        std::cerr << "make_episode: " << script.status().message() << "\n";
        return 2;
    }
    auto timeline = podpromo::testing::SynthesizeEpisode(*script, argv[2]);
    if (!timeline.ok()) {
        std::cerr << "make_episode: " << timeline.status().message() << "\n";
        return 1;
    }
    if (argc > 3) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& t : *timeline) {
            j.push_back({{"kind", t.line.kind},
                         {"voice", t.line.voice},
                         {"start", t.start_ms / 1000.0},
                         {"end", t.end_ms / 1000.0},
                         {"text", t.line.text}});
        }
        std::ofstream(argv[3]) << j.dump(2) << "\n";
    }
    return 0;
}
