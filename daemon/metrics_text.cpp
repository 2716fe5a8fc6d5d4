#include "daemon/metrics_text.hpp"

#include <cmath>
#include <cstdio>

namespace tributary::daemon {

namespace {

// The format's escapes: `\` and newlines always, `"` in label values only.
std::string escape(std::string_view v, bool quotes) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quotes)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        std::snprintf(buf, sizeof(buf), "%.0f", v);
    else
        std::snprintf(buf, sizeof(buf), "%.17g", v);
    return buf;
}

}  // namespace

std::string escape_label_value(std::string_view v) {
    return escape(v, true);
}

std::string render_metrics(const std::vector<metric_family>& families) {
    std::string out;
    for (const auto& f : families) {
        if (f.samples.empty()) continue;
        out += "# HELP " + f.name + " " + escape(f.help, false) + "\n";
        out += "# TYPE " + f.name + " " + f.type + "\n";
        for (const auto& s : f.samples) {
            out += f.name;
            if (!s.labels.empty()) {
                out += '{';
                for (std::size_t i = 0; i < s.labels.size(); ++i) {
                    if (i) out += ',';
                    out += s.labels[i].first + "=\"" + escape_label_value(s.labels[i].second) + "\"";
                }
                out += '}';
            }
            out += ' ' + number(s.value) + '\n';
        }
    }
    return out;
}

}  // namespace tributary::daemon
