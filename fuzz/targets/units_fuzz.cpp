// Durations and sizes as written in the config file (config/units.hpp): any text parses or is
// refused with a message, never crashes; what parses formats back to text that parses to the
// same value, and the message of a refusal never quotes the text.

#include <chrono>
#include <cstdint>
#include <string>

#include "config/units.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = tributary::fuzz::as_text(data, size);

    auto d = tributary::config::parse_duration(text);
    if (d.ok()) {
        require(d->count() >= 0, "parse_duration gave a negative duration");
        auto back = tributary::config::parse_duration(tributary::config::format_duration(*d));
        require(back.ok() && *back == *d, "format_duration does not read back");
    } else {
        require(!d.error().empty(), "parse_duration refused without a message");
    }

    auto s = tributary::config::parse_size(text);
    if (s.ok()) {
        auto back = tributary::config::parse_size(tributary::config::format_size(*s));
        require(back.ok() && *back == *s, "format_size does not read back");
    } else {
        require(!s.error().empty(), "parse_size refused without a message");
    }
    return 0;
}
