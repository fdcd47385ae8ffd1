#include "util/metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace magnumd::util {

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  // The +Inf bucket and _count must agree in one scrape, so derive the count from the buckets.
  s.count = running;
  return s;
}

const std::vector<double>& defaultLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0,
                                               30.0};
  return kBuckets;
}

template <typename Cell>
Cell& Family<Cell>::with(const LabelValues& values) {
  if (values.size() != label_names_.size()) {
    throw std::logic_error(fmt::format("metric {}: {} label values for {} labels", name_,
                                       values.size(), label_names_.size()));
  }
  std::lock_guard lock(mutex_);
  auto it = cells_.find(values);
  if (it != cells_.end()) return *it->second;
  std::unique_ptr<Cell> cell;
  if constexpr (std::is_same_v<Cell, Histogram>) {
    cell = std::make_unique<Histogram>(bounds_);
  } else {
    cell = std::make_unique<Cell>();
  }
  return *cells_.emplace(values, std::move(cell)).first->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Family<Counter>& MetricsRegistry::counter(std::string name, std::string help,
                                          std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  counters_.push_back(
      std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(labels)));
  order_.emplace_back('c', counters_.size() - 1);
  return *counters_.back();
}

Family<Gauge>& MetricsRegistry::gauge(std::string name, std::string help,
                                      std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  gauges_.push_back(
      std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(labels)));
  order_.emplace_back('g', gauges_.size() - 1);
  return *gauges_.back();
}

Family<Histogram>& MetricsRegistry::histogram(std::string name, std::string help,
                                              std::vector<std::string> labels,
                                              std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  histograms_.push_back(std::make_unique<Family<Histogram>>(
      std::move(name), std::move(help), std::move(labels), std::move(bounds)));
  order_.emplace_back('h', histograms_.size() - 1);
  return *histograms_.back();
}

std::string escapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string formatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

// {a="x",b="y"} plus an optional extra label (le for histogram buckets).
std::string labelSet(const std::vector<std::string>& names, const LabelValues& values,
                     const std::string& extra_name = {}, const std::string& extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += fmt::format("{}=\"{}\"", names[i], escapeLabelValue(values[i]));
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += fmt::format("{}=\"{}\"", extra_name, extra_value);
  }
  out += '}';
  return out;
}

template <typename Cell>
void renderSimple(const Family<Cell>& family, const char* type, std::string& out) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name(), family.help(), family.name(), type);
  family.forEach([&](const LabelValues& values, const Cell& cell) {
    out += fmt::format("{}{} {}\n", family.name(), labelSet(family.labelNames(), values),
                       formatValue(cell.value()));
  });
}

void renderHistogram(const Family<Histogram>& family, std::string& out) {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", family.name(), family.help(),
                     family.name());
  family.forEach([&](const LabelValues& values, const Histogram& h) {
    auto snap = h.snapshot();
    const auto& bounds = h.bounds();
    for (size_t i = 0; i <= bounds.size(); ++i) {
      std::string le = i < bounds.size() ? formatValue(bounds[i]) : "+Inf";
      out += fmt::format("{}_bucket{} {}\n", family.name(),
                         labelSet(family.labelNames(), values, "le", le), snap.cumulative[i]);
    }
    out += fmt::format("{}_sum{} {}\n", family.name(), labelSet(family.labelNames(), values),
                       formatValue(snap.sum));
    out += fmt::format("{}_count{} {}\n", family.name(), labelSet(family.labelNames(), values),
                       snap.count);
  });
}

}  // namespace

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [type, index] : order_) {
    if (type == 'c') {
      renderSimple(*counters_[index], "counter", out);
    } else if (type == 'g') {
      renderSimple(*gauges_[index], "gauge", out);
    } else {
      renderHistogram(*histograms_[index], out);
    }
  }
  return out;
}

}  // namespace magnumd::util
