#pragma once
// The lines of jsonl files, without I/O (connectors/jsonl/README.md shows examples).
//
// Users destination lines, one per written record:
//   {"id":"u-000001","op":"upsert","properties":{...},"written_at":"2026-01-01T00:00:00.000000Z"}
// `properties` are the record's properties as the pipeline passed them; `written_at` is when the
// line was written (canonical datetime). Lines are only appended: the last line of an id wins.
//
// Events destination lines are the events as received, their connectors::event::json_text().
//
// Users source lines come in two shapes:
//   - destination lines as above (an object with a string "op" and an object "properties"):
//     id = "id", properties = "properties", updated_at = properties.updated_at when it is an
//     ISO 8601 datetime, else written_at;
//   - any other object is a user itself: id = "id" (a non-empty string, or an integer written in
//     decimal), properties = the whole object, updated_at = its "updated_at" when that is an
//     ISO 8601 datetime, else unknown.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>

#include "core/types/result.hpp"

namespace tributary::connectors::jsonl {

/// The destination line of one user record (no trailing newline). `written_at` in µs since the
/// epoch, within years 1..9999.
std::string user_line(std::string_view id, const boost::json::object& properties, std::int64_t written_at);
/// The same line with `written_at` already in canonical datetime form (format it once per batch).
std::string user_line_at(std::string_view id,
                         const boost::json::object& properties,
                         std::string_view written_at);
/// Appends that line and a '\n' to `out`: a batch serialized straight into one buffer.
void append_user_line(std::string& out,
                      std::string_view id,
                      const boost::json::object& properties,
                      std::string_view written_at);

/// Appends `o` as the text boost::json::serialize writes for it, byte for byte (what the
/// destination lines' properties are), without a serializer's state machine.
void append_json(std::string& out, const boost::json::object& o);

/// A user read from a users file.
struct source_user {
    std::string id{};
    boost::json::object properties{};
    /// µs since the epoch; nullopt when the line does not say.
    std::optional<std::int64_t> updated_at{};
};

/// Parses one line (without its newline). Errors, which never quote the line: not JSON (or
/// nested deeper than 64), not an object, no usable id, a destination line whose properties are
/// not an object. The user's JSON is allocated from `sp` (default: the default resource).
types::result<source_user> parse_user_line(std::string_view line, const boost::json::storage_ptr& sp = {});

}  // namespace tributary::connectors::jsonl
