#include "daemon/mapping_report.hpp"

#include <fstream>

#include "config/source_map.hpp"

namespace tributary::daemon {

file_lines::file_lines(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) lines_.push_back(line);
}

std::string_view file_lines::line(int n) const {
    if (n < 1 || static_cast<std::size_t>(n) > lines_.size()) return {};
    return lines_[static_cast<std::size_t>(n - 1)];
}

std::optional<int> column_at_offset(std::string_view line, int column, std::size_t offset) {
    if (column < 1 || static_cast<std::size_t>(column - 1) >= line.size()) return std::nullopt;
    const std::size_t start = static_cast<std::size_t>(column - 1);
    const char first = line[start];
    if (first == '|' || first == '>') return std::nullopt;
    if (first == '"' || first == '\'') {
        const std::size_t body = start + 1;
        if (body + offset >= line.size()) return std::nullopt;
        for (std::size_t i = body; i < body + offset; ++i) {
            if (line[i] == first || (first == '"' && line[i] == '\\')) return std::nullopt;
        }
        return column + 1 + static_cast<int>(offset);
    }
    if (start + offset >= line.size()) return std::nullopt;
    return column + static_cast<int>(offset);
}

config::diagnostic locate_mapping_problem(const config::job_settings& job,
                                          const mapping::mapping_problem& p,
                                          const file_lines& lines) {
    const auto pointer =
        p.property.empty() ? std::string("/mapping") : config::pointer_append("/mapping", p.property);
    auto d =
        job.locations.locate(pointer, (p.level == types::severity::warning ? "warning: " : "") + p.message);
    // Only an entry's own value gets shifted; locate() falls back to an ancestor when the
    // entry was not recorded.
    if (p.offset && job.locations.find(pointer) && d.pos.known()) {
        if (auto col = column_at_offset(lines.line(d.pos.line), d.pos.column, *p.offset)) d.pos.column = *col;
    }
    return d;
}

std::function<std::string(const mapping::mapping_problem&)> mapping_problem_teller(
    const config::job_settings& job, std::filesystem::path file) {
    return [&job, file = std::move(file)](const mapping::mapping_problem& p) {
        return locate_mapping_problem(job, p, file_lines(file)).to_string();
    };
}

}  // namespace tributary::daemon
