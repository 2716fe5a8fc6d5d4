#pragma once
// Where a mapping problem is in the config file, told one way by `validate` and by a run that
// refuses to start (users_job_settings::describe_mapping_problem):
// `jobs.NAME.mapping.PROP (line:col): [warning: ]message`, the column shifted into the
// expression when it is a one-line scalar.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.hpp"
#include "config/settings.hpp"
#include "core/mapping/mapping.hpp"

namespace tributary::daemon {

/// The lines of a file, read once (none when it cannot be read).
class file_lines {
public:
    explicit file_lines(const std::filesystem::path& path);
    /// Line `n` (1-based); empty past the end.
    std::string_view line(int n) const;

private:
    std::vector<std::string> lines_;
};

/// The 1-based column of byte `offset` of a scalar that starts at `column` of `line`, when that
/// can be told from the line alone: a plain scalar, or a quoted one without escapes before the
/// offset. Otherwise nothing (the scalar's own column is used).
std::optional<int> column_at_offset(std::string_view line, int column, std::size_t offset);

/// `p` of `job`'s mapping as a diagnostic; warnings get "warning: " before the message.
config::diagnostic locate_mapping_problem(const config::job_settings& job,
                                          const mapping::mapping_problem& p,
                                          const file_lines& lines);

/// For users_job_settings::describe_mapping_problem: locate_mapping_problem(...).to_string(),
/// reading `file` when a problem is told. `job` must outlive the function.
std::function<std::string(const mapping::mapping_problem&)> mapping_problem_teller(
    const config::job_settings& job, std::filesystem::path file);

}  // namespace tributary::daemon
