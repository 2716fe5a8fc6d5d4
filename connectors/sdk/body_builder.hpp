#pragma once
// Builds a JSON request body item by item under a byte limit (krenalis-model §4.5): the
// connector adds items until one does not fit, then postpones the rest.
//
//     body_builder body{{.max_bytes = 5'000'000, .max_items = 100}};
//     body.begin(R"({"data":[)", "]}");
//     for (const auto& [index, rec] : batch.all()) {
//         auto r = body.add(profile_json(rec));
//         if (r == add_result::full) { batch.postpone(); break; }
//         if (r == add_result::too_large) batch.discard("profile exceeds 5 MB");
//     }
//     if (body.items() > 0) request = body.to_request("POST", url);
//
// Size = prefix + items + the "," between them + suffix, uncompressed (vendors publish
// uncompressed limits). A finished body is never larger than max_bytes.
//
// add() that does not fit rolls back to the last checkpoint, so a unit of several add() calls
// goes in whole or not at all. By default (auto_checkpoint) every successful add() is a
// checkpoint, so each item is its own unit; set auto_checkpoint = false and call checkpoint()
// before each unit to group items.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/http/message.hpp"

namespace tributary::connectors {

enum class add_result {
    added,      ///< in the body
    full,       ///< did not fit (or max_items reached): rolled back; postpone it and stop
    too_large,  ///< would not fit even alone in an empty body: rolled back; discard or reject it
};

struct body_options {
    /// Largest body, uncompressed, prefix and suffix included. Must be > 0.
    std::size_t max_bytes = 1u << 20;
    /// Most items per body; 0 = no limit.
    std::size_t max_items = 0;
    /// to_request() sends the body gzip-compressed (Content-Encoding: gzip).
    bool gzip = false;
    /// Placed between items.
    std::string_view separator = ",";
    /// Every successful add() sets the checkpoint. false: only checkpoint() does (units of
    /// several items).
    bool auto_checkpoint = true;
};

class body_builder {
public:
    explicit body_builder(body_options options = {});

    /// Starts a body: `prefix` now, `suffix` reserved for finish(). Clears any previous body.
    /// Returns false when prefix + suffix alone exceed max_bytes; every add() then answers `full`
    /// until the next begin() (full, not too_large: the items are fine, the connector is not).
    bool begin(std::string_view prefix, std::string_view suffix);

    /// Marks the current length and item count as the rollback point.
    void checkpoint();
    /// Appends `item` (preceded by the separator unless it is the first item). See add_result.
    /// Calling add() before begin() counts as begin("", "").
    add_result add(std::string_view item);
    /// Truncates to the last checkpoint.
    void rollback();

    /// Items in the body.
    std::size_t items() const noexcept { return items_; }
    /// Current length, the reserved suffix included: what finish() would return (uncompressed).
    std::size_t size() const noexcept { return body_.size() + suffix_.size(); }
    /// Bytes still free under max_bytes.
    std::size_t remaining() const noexcept { return options_.max_bytes - size(); }

    /// The body (prefix + items + suffix), uncompressed. The builder then starts empty again.
    std::string finish();
    /// A request carrying finish()'s body, gzip-compressed when the options say so, with
    /// Content-Type: application/json (Content-Encoding: gzip when compressed) and Accept:
    /// application/json. The body is compressed once here, not at every retry.
    http::request to_request(std::string method, std::string url);

    const body_options& options() const noexcept { return options_; }

private:
    body_options options_;
    std::string body_;
    std::string suffix_;
    std::size_t prefix_bytes_ = 0;
    std::size_t items_ = 0;
    std::size_t mark_bytes_ = 0;
    std::size_t mark_items_ = 0;
    bool begun_ = false;
    bool unusable_ = false;
};

}  // namespace tributary::connectors
