#pragma once
// The connectors the daemon knows: the built-in list (connectors/builtin.hpp), plus those a test
// or bench build of the daemon adds before it runs (bench/tributary_bench_daemon.cpp adds the
// test kit's HTTP users connector). The real binary adds none.

#include <functional>
#include <vector>

#include "connectors/sdk/registry.hpp"
#include "core/async/storage_thread.hpp"
#include "core/types/result.hpp"

namespace tributary::daemon {

/// Makes the added registrations; called once per registry built, with the storage thread file
/// connectors use (nullptr: inline I/O).
using added_connectors = std::function<std::vector<connectors::registration>(storage_thread*)>;

/// Every registry the daemon builds from now on ends with what `added` makes. Process-wide:
/// call from main() before app::execute, never concurrently with it.
void add_connectors(added_connectors added);

/// The built-in connectors followed by the added ones, validated as one list (a duplicate code
/// is an error).
types::result<connectors::registry> connector_registry(storage_thread* storage);

}  // namespace tributary::daemon
