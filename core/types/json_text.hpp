#pragma once
// JSON text for values that travel on: what ingest reads and stores, and what forwarding
// destinations write. Pure functions; no I/O.
//
// Reading (parse_json_text) is Boost.JSON's parser, except for numbers with a fraction or an
// exponent: Boost 1.81 has no precise mode and is one unit in the last place off for about one
// 17-digit number in ten (what JavaScript writes for Math.random()), so those numbers are read
// again from their text with std::from_chars, which rounds correctly.
//
// Writing: the text is what boost::json::serialize writes (compact, keys in order, strings with `"` `\`
// and C0 controls escaped, other bytes as they are), except for numbers with a fraction or an
// exponent: Boost writes 9.99 as `9.99E0`, this writes the shortest text that reads back as the
// same double (`9.99`, `12.5`, `1e+21`), as JavaScript's JSON.stringify does. So a number keeps
// the value and, for what clients usually send, the spelling it arrived with. Integers are
// written as they are; non-finite doubles (which no JSON text can hold) as `null`.

#include <boost/json/object.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace tributary::types {

/// Parses `text`, one JSON document, into a value allocated from `sp`, with `options` (depth
/// limit…); doubles as the top of this file says. Errors as Boost's parser sets them (e.g.
/// boost::json::error::too_deep, error::extra_data for trailing bytes); `consumed` is the number
/// of bytes read (up to the error). Returns null on error.
boost::json::value parse_json_text(std::string_view text,
                                   const boost::json::parse_options& options,
                                   boost::json::storage_ptr sp,
                                   boost::system::error_code& ec,
                                   std::size_t& consumed);

/// Appends `v` as JSON text to `out` (see the top of this file).
void append_json_text(std::string& out, const boost::json::value& v);
void append_json_text(std::string& out, const boost::json::object& o);

/// `v` as JSON text (see the top of this file).
std::string to_json_text(const boost::json::value& v);
std::string to_json_text(const boost::json::object& o);

}  // namespace tributary::types
