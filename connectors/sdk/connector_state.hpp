#pragma once
// What a connector may keep across restarts of the daemon (DESIGN §5: the state store), for work
// that outlives one call: a vendor job accepted but not finished (Klaviyo's profile bulk import
// jobs are polled until they complete, also after a restart). Small values only (a few KB to a
// few MB of text); the pipelines keep records, checkpoints and queues themselves.
//
// Keys are the connector's own: the daemon scopes them to the job and the connection, so two jobs
// writing to one connection never see each other's values. Calls run on the loop; the store
// does the I/O on its storage thread. A save() has completed (durably, with the store's sync
// setting) when it returns; saves issued one after another are applied in that order.
// Errors: the store's faults propagate as exceptions (the checked calls turn them into contract
// errors of the call), as for every other store access.

#include <optional>
#include <string>

#include "core/async/use_nothrow.hpp"

namespace tributary::connectors {

class connector_state {
public:
    virtual ~connector_state() = default;
    /// The value saved under `key`; nullopt when none (or forgotten).
    virtual awaitable<std::optional<std::string>> load(std::string key) = 0;
    /// Replaces the value under `key`; an empty `value` forgets it.
    virtual awaitable<void> save(std::string key, std::string value) = 0;
};

}  // namespace tributary::connectors
