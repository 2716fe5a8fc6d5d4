#include "daemon/connector_registry.hpp"

#include <utility>

#include "connectors/builtin.hpp"

namespace tributary::daemon {

namespace {

// Set once by main() before anything reads it; the daemon is single-threaded around it.
added_connectors& added_list() {
    static added_connectors added;
    return added;
}

}  // namespace

void add_connectors(added_connectors added) {
    added_list() = std::move(added);
}

types::result<connectors::registry> connector_registry(storage_thread* storage) {
    auto builtin = connectors::builtin_registry(storage);
    if (!builtin || !added_list()) return builtin;
    std::vector<connectors::registration> all = builtin->list();
    for (auto& r : added_list()(storage)) all.push_back(std::move(r));
    return connectors::registry::build(std::move(all));
}

}  // namespace tributary::daemon
