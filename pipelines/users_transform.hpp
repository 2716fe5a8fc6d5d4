#pragma once
// The record path of the users job, shared by the run (users_job.hpp) and the dry run
// (users_plan.hpp), so that `plan` shows exactly what a run would do:
//
//   source record → normalize against the source schema (the source's time layouts)
//                 → mapping (the identity when empty)
//                 → match value (destination.match): the value at match.source of the normalized
//                   source record, written into match.destination (it overrides a mapping of
//                   that property: the user found by a value keeps that value)
//                 → normalize against the destination schema, pruned to what the mapping writes
//                 → where it goes: an id now, or a lookup key that decide() resolves per batch.
//
// Where records go (mode × matching):
//   no match:  upsert and update send the source id; create sends no id.
//   native:    mode upsert on a property the destination lists in match_properties: no id,
//              record.match_property = match.destination; the connector finds or creates.
//   lookup:    every other match: the key is the match value as text (strings as they are,
//              numbers and booleans in JSON form), looked up in the store's match table:
//                found     → upsert, update: update that id;  create: skip
//                not found → upsert, create: create;          update: skip
//              A record without a match value (missing or null) is refused:
//              "match: no value for <path>"; an object or array value likewise.
//
// Dead letters keep a payload (dead_letter_payload) from which a later run re-offers the item:
//   - refused before sending (stages source, mapping, match, destination): the source record as
//     read, so the retry runs the whole path again, with the mapping and schemas of that run;
//   - refused by the destination: the properties as sent and the match key, so the retry sends
//     them again (normalized against the current destination schema, matched again). The record
//     as read is not kept in flight for that case: it would double the memory of every queued
//     record for the rare refusal.
//
// Pure: no I/O, no exceptions on bad input, and messages never quote record values (they may be
// personal data).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/sdk/record.hpp"
#include "core/mapping/mapping.hpp"
#include "core/result.hpp"
#include "core/types/time_layout.hpp"
#include "core/types/type.hpp"
#include "pipelines/users_job_settings.hpp"

namespace tributary::pipelines {

/// How records find their destination user (see the top of this file).
enum class match_kind { none, native, lookup };

/// "none", "native", "lookup".
std::string_view to_string(match_kind k) noexcept;

/// What happens to a record at the destination.
enum class action { create, update, skip };

/// "create", "update", "skip".
std::string_view to_string(action a) noexcept;

/// A lookup decision.
struct decision {
    action what = action::create;
    /// update: the destination id.
    std::string id{};
    /// skip: why (constant text).
    std::string_view reason{};
};

/// Where a record failed on the path: the `stage` of its `dlq.add` log line.
enum class failure_stage { none, source, mapping, match, destination };

/// "none", "source", "mapping", "match", "destination".
std::string_view to_string(failure_stage s) noexcept;

/// One record through the path.
struct transformed {
    /// Empty on success; otherwise the dead-letter reason, starting with its stage: "source: ",
    /// "mapping: ", "match: " or "destination: ".
    std::string error{};
    /// failure_stage::none on success; otherwise the stage `error` starts with.
    failure_stage stage = failure_stage::none;
    /// On success: properties normalized against destination_schema(); id and match_property as
    /// the matching says (lookup: no id until decide()).
    connectors::record rec{};
    /// match_kind::lookup: the key to look up.
    std::string match_key{};
    /// from_source on failure: the source record as read (for the dead letter); null otherwise.
    boost::json::value raw{};

    bool ok() const noexcept { return error.empty(); }
};

class users_transform {
public:
    /// Compiles the mapping and the match path, prunes the destination schema to the properties
    /// written (the mapping's, or with the identity mapping the top-level source properties the
    /// destination has, plus match.destination). Errors (a message): an invalid mapping, a match
    /// path that does not parse or a match property absent from the destination schema, a
    /// mapping that writes no destination property, and the errors mapping::check_mapping finds
    /// between a written (not identity) mapping and the two schemas (each told by
    /// s.describe_mapping_problem).
    static result<users_transform> make(const users_job_settings& s,
                                        const types::type& source_schema,
                                        const types::type& destination_schema);

    const types::type& source_schema() const noexcept { return source_schema_; }
    /// The schema upsert() receives.
    const types::type& destination_schema() const noexcept { return dest_schema_; }
    match_kind matching() const noexcept { return kind_; }
    write_mode mode() const noexcept { return mode_; }

    /// The whole path for a record read from the source. `raw` is taken: a record already in
    /// canonical form is moved through to the result without a copy. On failure the result's
    /// `raw` holds the record as read, for the dead letter.
    transformed from_source(std::string_view source_id, boost::json::value raw) const;

    /// A record the destination refused, offered again: `sent` (its properties as sent) is
    /// normalized against the destination schema and matched again (`match_key` as stored). Only
    /// read: the caller keeps it for a dead letter.
    transformed from_sent(std::string_view source_id,
                          const boost::json::value& sent,
                          std::string_view match_key) const;

    /// The lookup decision for a record whose key has destination id `found` (nullptr: none).
    decision decide(const std::string* found) const;

    /// The lookup key of a destination record (refreshing the match table): its value at
    /// match.destination as text; nullopt without a scalar value there.
    std::optional<std::string> destination_key(const boost::json::object& properties) const;

    /// The destination property matched on; "" without matching.
    const std::string& match_property() const noexcept { return match_destination_; }

private:
    users_transform() = default;

    bool set_match(boost::json::object& out, const boost::json::object& source, transformed& t) const;
    /// The record's id (or match property) as the mode and the matching say.
    void set_ids(transformed& t, std::string_view source_id) const;

    types::type source_schema_{};
    types::type dest_schema_{};
    types::time_layouts source_layouts_{};
    types::normalize_options dest_options_{};
    mapping::mapping mapping_{};
    write_mode mode_ = write_mode::upsert;
    match_kind kind_ = match_kind::none;
    std::optional<mapping::expression> match_source_{};
    std::optional<mapping::expression> match_dest_{};
    std::string match_source_path_{};
    std::string match_destination_{};
    /// A record canonical for the source schema is canonical for the destination schema as it
    /// is: the identity mapping, no match value written or one matching a top-level property on
    /// itself (the value written is the one there), mode upsert (nothing required beyond what
    /// reading required) and the same schema on both sides.
    bool destination_implied_ = false;
};

/// Moves `from` into `to` with `from`'s storage, as a move construction does. A JSON container's
/// assignment keeps its own storage and copies what comes from another, so assigning a record
/// read into a source's page resource (connectors/dummy, connectors/jsonl) would copy it whole.
void take_json(boost::json::object& to, boost::json::object&& from) noexcept;

/// A cheap estimate of the bytes of `o` serialized as JSON (it does not count escapes), for
/// batch sizes and the in-flight budget without serializing every record.
std::uint64_t approx_json_size(const boost::json::object& o) noexcept;

/// A dead letter's payload (store: dead_letter::payload_json). See the top of this file.
struct dead_letter_payload {
    enum class stage {
        /// `properties` is the source record as read.
        source,
        /// `properties` is what was sent to the destination; `match_key` its lookup key.
        destination,
    };
    std::string id{};
    std::int64_t updated_at_us = 0;
    stage at = stage::source;
    boost::json::object properties{};
    std::string match_key{};
};

/// {"id":…,"updated_at_us":…,"stage":"source"|"destination","properties":{…}[,"match_key":…]}
std::string encode_payload(std::string_view id,
                           std::int64_t updated_at_us,
                           dead_letter_payload::stage at,
                           const boost::json::value& properties,
                           std::string_view match_key);

/// The inverse of encode_payload; nullopt when `text` is not such an object. A payload without
/// "stage" (stored before stages existed) reads as stage source.
std::optional<dead_letter_payload> decode_payload(std::string_view text);

}  // namespace tributary::pipelines
