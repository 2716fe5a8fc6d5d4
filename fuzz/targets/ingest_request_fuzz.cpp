// The ingest endpoint's decisions (pipelines/ingest/request.hpp, message.hpp, auth.hpp) and the
// gzip path they use. The input is two NUL-separated parts: a head of up to four lines (method
// and target, Authorization, Content-Encoding) and a body. When the encoding names gzip or
// deflate and the body does not start with gzip's magic bytes, the harness compresses it, so that
// both garbage and valid compressed bodies reach the parser. Nothing may crash or throw; an
// answer other than 200 carries no messages; each accepted message and each answer body is a JSON
// object; a reject keeps at most the payload limit; and a body gives the same answer and messages
// whether it arrives plain or compressed.

#include <boost/json/parse.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/http/gzip.hpp"
#include "fuzz/targets/fuzz_input.hpp"
#include "pipelines/ingest/request.hpp"

using tributary::fuzz::require;
namespace ingest = tributary::ingest;

namespace {

bool is_json_object(std::string_view text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    return !ec && v.is_object();
}

std::string_view next_line(std::string_view& text) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    return line;
}

struct harness {
    tributary::manual_clock clock;
    std::uint64_t counter = 0;
    ingest::parse_limits limits{.max_request_bytes = 64 * 1024, .max_batch_events = 50};
    ingest::parser parser{limits, clock, [this] { return ++counter; }};
    ingest::write_key_checker keys{{"key-1", "wk_test_abcdef"}};

    ingest::verdict evaluate(const ingest::routing& r, std::string body) {
        counter = 0;
        return ingest::evaluate_body(parser, keys, r, std::move(body), 1'767'225'600'000'000);
    }
};

void check(const ingest::verdict& v) {
    if (v.reply.status != 200) require(v.messages.empty(), "a refused request hands messages to the sink");
    for (const auto& m : v.messages) {
        require(is_json_object(m.json), "an accepted message is not a JSON object");
        require(!m.message_id.empty() && !m.user_key.empty(), "an accepted message lacks its id or user key");
    }
    for (const auto& r : v.rejects)
        require(r.payload.size() <= ingest::reject_payload_max_bytes, "a reject keeps more than the limit");
    require(is_json_object(ingest::answer_body(v.reply)), "the answer body is not a JSON object");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static harness h;
    auto parts = tributary::fuzz::split(tributary::fuzz::as_text(data, size), 2);
    if (parts.size() < 2) return 0;

    std::string_view head_text = parts[0];
    auto request_line = next_line(head_text);
    auto space = request_line.find(' ');
    ingest::request_head head;
    head.method = request_line.substr(0, space);
    head.target = space == std::string_view::npos ? std::string_view{} : request_line.substr(space + 1);
    head.authorization = next_line(head_text);
    head.content_encoding = next_line(head_text);

    const auto r = ingest::route_request(head, h.keys);
    if (r.kind == ingest::request_kind::refused) {
        require(r.refusal.status >= 400, "a refusal answers below 400");
        require(is_json_object(ingest::answer_body(r.refusal)), "the refusal body is not a JSON object");
        return 0;
    }
    if (r.kind != ingest::request_kind::ingest) return 0;

    std::string body(parts[1]);
    const bool compressed =
        r.encoding == ingest::body_encoding::gzip || r.encoding == ingest::body_encoding::deflate;
    const bool magic = body.size() >= 2 && body[0] == '\x1f' && body[1] == '\x8b';
    if (!compressed || magic) {
        check(h.evaluate(r, std::move(body)));
        (void)h.parser.parse_typed(parts[1]);
        return 0;
    }

    auto plain_route = r;
    plain_route.encoding = ingest::body_encoding::identity;
    const auto plain = h.evaluate(plain_route, body);
    const auto zipped = h.evaluate(r, tributary::http::gzip_compress(body));
    check(plain);
    check(zipped);
    require(plain.reply.status == zipped.reply.status && plain.reply.code == zipped.reply.code &&
                plain.reply.accepted == zipped.reply.accepted,
            "a compressed body gets another answer than the plain one");
    require(plain.messages == zipped.messages, "a compressed body gives other messages than the plain one");
    return 0;
}
