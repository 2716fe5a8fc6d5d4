#pragma once
// The Prometheus text exposition format (version 0.0.4): families with HELP and TYPE lines,
// samples with escaped label values. Pure.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tributary::daemon {

struct metric_sample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
};

struct metric_family {
    std::string name;  ///< [a-zA-Z_:][a-zA-Z0-9_:]*
    std::string help;
    std::string type;  ///< counter | gauge
    std::vector<metric_sample> samples;
};

/// A label value with `\`, `"` and newlines escaped.
std::string escape_label_value(std::string_view v);

/// Every family, in order; a family without samples is left out. Integral values print without
/// an exponent.
std::string render_metrics(const std::vector<metric_family>& families);

}  // namespace tributary::daemon
