// A small metrics registry rendered in the Prometheus text format (version 0.0.4). Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace podpromo {

class Metrics {
  public:
    using Labels = std::map<std::string, std::string>;

    // Declares a metric (its HELP text); observing an undeclared one declares it with an empty help.
    void Describe(const std::string& name, const std::string& type, const std::string& help);
    void Increment(const std::string& name, const Labels& labels = {}, double by = 1);
    void Set(const std::string& name, const Labels& labels, double value);
    // Histograms use `buckets` (upper bounds, ascending) given at the first observation of the name.
    void Observe(const std::string& name, const Labels& labels, double value, const std::vector<double>& buckets);

    // Every metric in the text exposition format.
    std::string Render() const;

    static const std::vector<double>& LatencyBuckets();   // seconds, 0.5 ms .. 10 s
    static const std::vector<double>& DurationBuckets();  // seconds, 0.1 s .. 2 h

  private:
    struct Histogram {
        std::vector<double> bounds;
        std::vector<double> counts;  // cumulative at render, per-bucket here
        double sum = 0;
        double count = 0;
    };
    struct Family {
        std::string type, help;
        std::map<std::string, double> values;         // rendered labels -> value
        std::map<std::string, Histogram> histograms;  // rendered labels -> histogram
    };
    static std::string RenderLabels(const Labels& labels, const std::string& extra = "");
    mutable std::mutex mu_;
    std::map<std::string, Family> families_;
};

}  // namespace podpromo
