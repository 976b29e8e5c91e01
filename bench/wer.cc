// wer REF.txt HYP: word error rate of HYP (plain text, or a PodPromo result/transcript JSON) against REF.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "podpromo/asr/transcript_io.h"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: wer REF.txt HYP(.txt|.json)\n";
        return 2;
    }
    auto read = [](const char* p) {
        std::ifstream in(p);
        std::ostringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    std::string hyp = read(argv[2]);
    if (!hyp.empty() && hyp[0] == '{') {
        auto t = podpromo::ParseTranscript(hyp);
        if (!t.ok()) {
            std::cerr << "wer: " << t.status().message() << "\n";
            return 2;
        }
        hyp.clear();
        for (const auto& s : t->segments) hyp += s.text + " ";
    }
    std::cout << podpromo::WordErrorRate(read(argv[1]), hyp) << "\n";
    return 0;
}
