// Mock Klaviyo's request parsers (tests/kit/klaviyo_wire.hpp): the mock is a spec oracle the
// connector tests trust, so it must refuse bad requests with an answer, never crash. The input is
// three NUL-separated parts: a GET /api/profiles query string, a `filter` value and a POST body.
// The query is decoded and validated and, when valid, served from a small store; the filter is
// parsed alone; the body goes to the event bulk-create job and the single-event endpoint. Every
// answer is a status the spec lists, and every error answer is a JSON:API errors document.

#include <boost/json/parse.hpp>

#include <cstdint>
#include <string>

#include "fuzz/targets/fuzz_input.hpp"
#include "tests/kit/klaviyo_wire.hpp"

using tributary::fuzz::require;
namespace wire = tributary::kit::klaviyo;

namespace {

void check_answer(const wire::wire_response& r) {
    require(r.status == 200 || r.status == 202 || (r.status >= 400 && r.status < 500),
            "the mock answered a status outside 200, 202 and 4xx");
    if (r.status < 400) return;
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    require(!ec && v.is_object() && v.as_object().contains("errors"),
            "an error answer is not a JSON:API document");
}

const wire::profile_store& store() {
    static const wire::profile_store s = [] {
        wire::profile_store st;
        st.generate(30, 1'767'225'600'000'000, 1'000'000, 300);
        return st;
    }();
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parts = tributary::fuzz::split(tributary::fuzz::as_text(data, size), 3);

    if (auto params = wire::parse_query(parts[0])) {
        auto q = wire::parse_profiles_query(*params);
        if (q) {
            check_answer(store().page(*q, *params, "http://127.0.0.1:4100"));
        } else {
            check_answer(q.error());
        }
    }
    if (parts.size() > 1) {
        auto f = wire::parse_profiles_filter(parts[1]);
        if (!f) require(!f.error().empty(), "a refused filter without a message");
    }
    if (parts.size() > 2) {
        wire::event_store events;
        check_answer(events.create_bulk_job(parts[2]));
        check_answer(events.create_event(parts[2]));
        require(events.events().size() <= 1001, "one job and one event recorded more than 1001 events");
    }
    return 0;
}
