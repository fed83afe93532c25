#pragma once
// prometheus_text — counters, gauges and histograms rendered in Prometheus' text exposition
// format (version 0.0.4): `# HELP`, `# TYPE`, then `name{label="v"} value` lines; histograms as
// cumulative `_bucket{le=…}` lines ending in le="+Inf", then `_sum` and `_count`.
// Thread-safe: request threads observe while /metrics renders.
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace alisa::cluster {

class latency_histogram {
 public:
  explicit latency_histogram(std::vector<double> upper_bounds);
  void observe(double seconds);
  // The metric's lines (no HELP/TYPE), with `labels` (e.g. model="m") on each.
  std::string render(const std::string& name, const std::string& labels) const;

 private:
  mutable std::mutex mutex_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0.0;
  uint64_t count_ = 0;
};

// Appends one metric family: its HELP and TYPE lines, then `body`.
void append_family(std::string& out, const std::string& name, const std::string& type,
                   const std::string& help, const std::string& body);
// One sample line: name{labels} value.
std::string sample_line(const std::string& name, const std::string& labels, double value);
// A label value escaped as the format requires (backslash, quote, newline).
std::string escape_label(const std::string& value);

}  // namespace alisa::cluster
