#include "podpromo/monitor/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace podpromo {
namespace {

std::string Escape(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::string Number(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
    return fmt::format("{}", v);
}

}  // namespace

std::string Metrics::RenderLabels(const Labels& labels, const std::string& extra) {
    if (labels.empty() && extra.empty()) return "";
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) out += ",";
        out += k + "=\"" + Escape(v) + "\"";
        first = false;
    }
    if (!extra.empty()) out += (first ? "" : ",") + extra;
    return out + "}";
}

void Metrics::Describe(const std::string& name, const std::string& type, const std::string& help) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& f = families_[name];
    f.type = type;
    f.help = help;
}

void Metrics::Increment(const std::string& name, const Labels& labels, double by) {
    std::string key = RenderLabels(labels);  // outside the lock: every request records here
    std::lock_guard<std::mutex> lock(mu_);
    auto& f = families_[name];
    if (f.type.empty()) f.type = "counter";
    f.values[std::move(key)] += by;
}

void Metrics::Set(const std::string& name, const Labels& labels, double value) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& f = families_[name];
    if (f.type.empty()) f.type = "gauge";
    f.values[RenderLabels(labels)] = value;
}

void Metrics::Observe(const std::string& name, const Labels& labels, double value, const std::vector<double>& buckets) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& f = families_[name];
    if (f.type.empty()) f.type = "histogram";
    auto& h = f.histograms[RenderLabels(labels)];
    if (h.bounds.empty()) {
        h.bounds = buckets;
        h.counts.assign(buckets.size(), 0);
    }
    const auto it = std::lower_bound(h.bounds.begin(), h.bounds.end(), value);
    if (it != h.bounds.end()) h.counts[static_cast<size_t>(it - h.bounds.begin())] += 1;
    h.sum += value;
    h.count += 1;
}

std::string Metrics::Render() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const auto& [name, f] : families_) {
        if (!f.help.empty()) out += "# HELP " + name + " " + f.help + "\n";
        out += "# TYPE " + name + " " + f.type + "\n";
        for (const auto& [labels, v] : f.values) out += name + labels + " " + Number(v) + "\n";
        for (const auto& [labels, h] : f.histograms) {
            // Re-render the labels with "le" added: strip the braces of the stored form.
            const std::string inner = labels.empty() ? "" : labels.substr(1, labels.size() - 2);
            const std::string bucket = fmt::format("{}_bucket{{{}{}le=\"", name, inner, inner.empty() ? "" : ",");
            double cumulative = 0;
            for (size_t i = 0; i < h.bounds.size(); ++i) {
                cumulative += h.counts[i];
                out += fmt::format("{}{}\"}} {}\n", bucket, Number(h.bounds[i]), Number(cumulative));
            }
            out += fmt::format("{}+Inf\"}} {}\n", bucket, Number(h.count));
            out += fmt::format("{}_sum{} {}\n", name, labels, Number(h.sum));
            out += fmt::format("{}_count{} {}\n", name, labels, Number(h.count));
        }
    }
    return out;
}

const std::vector<double>& Metrics::LatencyBuckets() {
    static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    return b;
}

const std::vector<double>& Metrics::DurationBuckets() {
    static const std::vector<double> b = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200};
    return b;
}

}  // namespace podpromo
