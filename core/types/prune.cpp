#include "core/types/prune.hpp"

#include <optional>
#include <string>
#include <vector>

namespace tributary::types {

namespace {

// Rebuilds `t` (an object, or arrays/maps around one) with its innermost object replaced by
// whatever `transform` makes of it. The factories cannot fail here: the shape is unchanged and
// only flags or a subset of properties differ, so a failure would be a bug (exception).
template <class F>
std::optional<type> rebuild(const type& t, F&& transform) {
    switch (t.kind()) {
        case kind::array: {
            auto inner = rebuild(t.element(), transform);
            if (!inner) return std::nullopt;
            return make_array(std::move(*inner), {t.min_elements(), t.max_elements(), t.unique_elements()})
                .value();
        }
        case kind::map: {
            auto inner = rebuild(t.element(), transform);
            if (!inner) return std::nullopt;
            return make_map(std::move(*inner)).value();
        }
        case kind::object:
            return transform(t);
        default:
            return t;
    }
}

bool holds_object(const type& t) {
    const type* current = &t;
    while (current->kind() == kind::array || current->kind() == kind::map) current = &current->element();
    return current->kind() == kind::object;
}

type with_role(const type& t, role r) {
    auto out = rebuild(t, [r](const type& object) -> std::optional<type> {
        std::vector<property> properties = object.properties();
        for (auto& p : properties) {
            if (r == role::source) {
                p.create_required = false;
                p.update_required = false;
            } else {
                p.read_optional = false;
            }
            p.type = with_role(p.type, r);
        }
        return make_object(std::move(properties)).value();
    });
    return out ? *out : t;
}

std::optional<type> prune_object(const type& object, const std::string& prefix, const keep_property& keep) {
    std::vector<property> kept;
    for (const auto& p : object.properties()) {
        const std::string path = prefix.empty() ? p.name : prefix + "." + p.name;
        if (keep(path, p)) {
            kept.push_back(p);
            continue;
        }
        if (!holds_object(p.type)) continue;
        auto inner = rebuild(p.type, [&](const type& o) { return prune_object(o, path, keep); });
        if (!inner) continue;
        property copy = p;
        copy.type = std::move(*inner);
        kept.push_back(std::move(copy));
    }
    if (kept.empty()) return std::nullopt;
    return make_object(std::move(kept)).value();
}

}  // namespace

type as_role(const type& t, role r) {
    return with_role(t, r);
}

type prune(const type& t, const keep_property& keep) {
    if (t.kind() != kind::object) return type{};
    auto out = prune_object(t, "", keep);
    return out ? *out : type{};
}

type prune_at_path(const type& t, std::string_view path) {
    return prune(t, [path](std::string_view p, const property&) { return p == path; });
}

}  // namespace tributary::types
