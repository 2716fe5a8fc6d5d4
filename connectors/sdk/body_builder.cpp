#include "connectors/sdk/body_builder.hpp"

#include "core/http/gzip.hpp"

namespace tributary::connectors {

body_builder::body_builder(body_options options) : options_{options} {
    if (options_.max_bytes == 0) options_.max_bytes = 1;  // a zero limit would underflow remaining()
}

bool body_builder::begin(std::string_view prefix, std::string_view suffix) {
    body_.clear();
    suffix_.clear();
    items_ = mark_items_ = 0;
    prefix_bytes_ = mark_bytes_ = 0;
    begun_ = true;
    unusable_ = prefix.size() + suffix.size() > options_.max_bytes;
    if (unusable_) return false;
    body_.assign(prefix);
    suffix_.assign(suffix);
    prefix_bytes_ = mark_bytes_ = body_.size();
    return true;
}

void body_builder::checkpoint() {
    mark_bytes_ = body_.size();
    mark_items_ = items_;
}

void body_builder::rollback() {
    body_.resize(mark_bytes_);
    items_ = mark_items_;
}

add_result body_builder::add(std::string_view item) {
    if (!begun_) begin({}, {});
    if (unusable_) return add_result::full;
    // Judged before appending, so an oversized item never costs a copy into the body.
    std::size_t alone = prefix_bytes_ + item.size() + suffix_.size();
    if (alone > options_.max_bytes) {
        rollback();
        return add_result::too_large;
    }
    std::size_t sep = items_ > 0 ? options_.separator.size() : 0;
    bool over_items = options_.max_items > 0 && items_ >= options_.max_items;
    if (over_items || size() + sep + item.size() > options_.max_bytes) {
        rollback();
        return add_result::full;
    }
    if (sep > 0) body_.append(options_.separator);
    body_.append(item);
    ++items_;
    if (options_.auto_checkpoint) checkpoint();
    return add_result::added;
}

std::string body_builder::finish() {
    std::string out = std::move(body_);
    out += suffix_;
    body_.clear();
    suffix_.clear();
    items_ = mark_items_ = 0;
    prefix_bytes_ = mark_bytes_ = 0;
    begun_ = false;
    unusable_ = false;
    return out;
}

http::request body_builder::to_request(std::string method, std::string url) {
    http::request req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.body = finish();
    req.headers.push_back({"Content-Type", "application/json"});
    req.headers.push_back({"Accept", "application/json"});
    if (options_.gzip) {
        req.body = http::gzip_compress(req.body);
        req.headers.push_back({"Content-Encoding", "gzip"});
    }
    return req;
}

}  // namespace tributary::connectors
