#pragma once
// The result of the pure parsers of this library (units, cron, listen
// addresses, interpolation): a value, or a message saying what is wrong.

#include <string>
#include <utility>

#include "core/result.hpp"

namespace tributary::config {

/// The failure side of a parse_result. Messages never repeat the parsed text, so callers can
/// prefix it themselves, or `<secret>` when the text is secret.
struct parse_error {
    std::string message;
};

/// tributary::result<T> (the error is the message) that also takes a parse_error, with the
/// `ok()` spelling the parsers' callers use. error() is empty when ok().
template <class T>
class parse_result : public tributary::result<T> {
public:
    using tributary::result<T>::result;
    parse_result(parse_error e) : tributary::result<T>(unexpected{std::move(e.message)}) {}

    bool ok() const { return this->has_value(); }
};

}  // namespace tributary::config
