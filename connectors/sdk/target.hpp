#pragma once
// What a connector moves (users, events) and in which role.

#include <optional>
#include <string_view>

namespace tributary::connectors {

enum class target { users, events };
enum class role { source, destination };

/// "users" / "events".
std::string_view to_string(target t) noexcept;
/// "source" / "destination".
std::string_view to_string(role r) noexcept;
std::optional<target> parse_target(std::string_view s) noexcept;
std::optional<role> parse_role(std::string_view s) noexcept;

/// A set of targets, as a spec declares them.
struct target_set {
    bool users = false;
    bool events = false;

    bool empty() const noexcept { return !users && !events; }
    bool contains(target t) const noexcept { return t == target::users ? users : events; }

    friend bool operator==(const target_set&, const target_set&) = default;
};

}  // namespace tributary::connectors
