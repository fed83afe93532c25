#include "cluster/http/prometheus_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace alisa::cluster {
namespace {

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string with_label(const std::string& labels, const std::string& extra) {
  if (labels.empty()) return extra;
  return labels + "," + extra;
}

}  // namespace

latency_histogram::latency_histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void latency_histogram::observe(double seconds) {
  std::lock_guard lock(mutex_);
  const size_t bucket =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), seconds) - bounds_.begin());
  ++counts_[bucket];
  sum_ += seconds;
  ++count_;
}

std::string latency_histogram::render(const std::string& name, const std::string& labels) const {
  std::lock_guard lock(mutex_);
  std::string out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += sample_line(name + "_bucket", with_label(labels, "le=\"" + number(bounds_[i]) + "\""),
                       static_cast<double>(cumulative));
  }
  out += sample_line(name + "_bucket", with_label(labels, "le=\"+Inf\""),
                     static_cast<double>(count_));
  out += sample_line(name + "_sum", labels, sum_);
  out += sample_line(name + "_count", labels, static_cast<double>(count_));
  return out;
}

void append_family(std::string& out, const std::string& name, const std::string& type,
                   const std::string& help, const std::string& body) {
  out += "# HELP " + name + " " + help + "\n";
  out += "# TYPE " + name + " " + type + "\n";
  out += body;
}

std::string sample_line(const std::string& name, const std::string& labels, double value) {
  return name + (labels.empty() ? "" : "{" + labels + "}") + " " + number(value) + "\n";
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace alisa::cluster
