// Sending events to Klaviyo (connectors/klaviyo/events.hpp). The input is two NUL-separated
// parts: a stored Segment message and a 400 answer's body. The message is parsed as the sender
// reads it and mapped to a bulk-job item and a single-event body, which must be JSON objects
// within the job's limits; the answer's pointer (refused_item) drives after_refusal over a job,
// whose next steps must stay inside the refused part, never repeat the item tried alone and
// always make progress.

#include <boost/json/parse.hpp>

#include <cstdint>
#include <string>

#include "connectors/klaviyo/events.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;
namespace klaviyo = tributary::connectors::klaviyo;

namespace {

bool is_json_object(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    return !ec && v.is_object();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parts = tributary::fuzz::split(tributary::fuzz::as_text(data, size), 2);

    if (auto e = tributary::connectors::event::parse(parts[0])) {
        if (auto item = klaviyo::bulk_item_json(*e)) {
            require(is_json_object(*item), "bulk_item_json is not a JSON object");
            require(item->size() <= klaviyo::max_job_bytes, "a bulk item exceeds the job's size");
        }
        if (auto single = klaviyo::single_event_json(*e)) {
            require(is_json_object(*single), "single_event_json is not a JSON object");
        }
    }

    const auto pointed = klaviyo::refused_item(parts.size() > 1 ? parts[1] : parts[0]);
    for (std::size_t begin : {std::size_t{0}, std::size_t{5}}) {
        for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{1000}}) {
            const std::size_t end = begin + n;
            auto step = klaviyo::after_refusal(pointed, begin, end);
            std::size_t covered = step.alone ? 1 : 0;
            if (step.alone) require(*step.alone >= begin && *step.alone < end, "alone outside the part");
            for (auto [b, e] : step.parts) {
                require(begin <= b && b < e && e <= end, "a next part is empty or outside the refused part");
                require(!step.alone || *step.alone < b || *step.alone >= e,
                        "a next part repeats the item alone");
                require(e - b < n, "a next part is the whole refused part again");
                covered += e - b;
            }
            require(covered == n, "after_refusal loses or repeats items");
        }
    }
    return 0;
}
