#include "config/yaml_reader.hpp"

#include <yaml-cpp/eventhandler.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "config/units.hpp"

namespace tributary::config::detail {

namespace {

constexpr std::string_view str_tag = "tag:yaml.org,2002:str";
// Deeper free-form settings are certainly a mistake; the limit also bounds recursion.
constexpr int max_json_depth = 64;

position to_position(const YAML::Mark& m) {
    if (m.is_null() || m.line < 0) return {};
    return {m.line + 1, m.column + 1};
}

// The parse pass that yaml-cpp's Load() does not offer: it sees aliases and documents.
class structure_check : public YAML::EventHandler {
public:
    // yaml-cpp 0.7 starts an empty document at a token no node can start with (a stray `,`)
    // without consuming it, forever: a document that starts where the previous one did is that.
    void OnDocumentStart(const YAML::Mark& mark) override {
        if (++documents_ == 2) second_document_ = mark;
        if (documents_ > 1 && mark.pos <= previous_start_) stuck_ = true;
        previous_start_ = mark.pos;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { aliases_.push_back(mark); }
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&,
                         const std::string&,
                         YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&,
                    const std::string&,
                    YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}

    int documents_ = 0;
    int previous_start_ = -1;
    bool stuck_ = false;
    YAML::Mark second_document_;
    std::vector<YAML::Mark> aliases_;
};

std::string kind_name(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Map:
            return "a mapping";
        case YAML::NodeType::Sequence:
            return "a list";
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return "nothing (null)";
        case YAML::NodeType::Scalar:
            return "a scalar";
    }
    return "something else";
}

bool is_bool_word(std::string_view s, bool& value) {
    if (s == "true" || s == "True" || s == "TRUE") {
        value = true;
        return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
        value = false;
        return true;
    }
    return false;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
    return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool is_dec(char c) {
    return c >= '0' && c <= '9';
}
bool is_oct(char c) {
    return c >= '0' && c <= '7';
}
bool is_hex(char c) {
    return is_dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// YAML 1.2 core schema float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool is_core_float(std::string_view s) {
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t int_digits = 0;
    while (i < s.size() && is_dec(s[i])) ++i, ++int_digits;
    std::size_t frac_digits = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && is_dec(s[i])) ++i, ++frac_digits;
    }
    if (int_digits == 0 && frac_digits == 0) return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
        std::size_t exp_digits = 0;
        while (i < s.size() && is_dec(s[i])) ++i, ++exp_digits;
        if (exp_digits == 0) return false;
    }
    return i == s.size();
}

// The JSON value of a plain scalar by the YAML 1.2 core schema, or an error message.
parse_result<boost::json::value> resolve_plain(std::string_view s) {
    bool b = false;
    if (is_bool_word(s, b)) return boost::json::value(b);
    if (s == "null" || s == "Null" || s == "NULL" || s == "~" || s.empty())
        return boost::json::value(nullptr);

    std::string_view digits = s;
    bool negative = false;
    if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
        negative = digits.front() == '-';
        digits.remove_prefix(1);
    }
    int base = 0;
    if (all_of(digits, is_dec)) {
        base = 10;
    } else if (s.size() > 2 && s.substr(0, 2) == "0o" && all_of(s.substr(2), is_oct)) {
        base = 8;
        digits = s.substr(2);
    } else if (s.size() > 2 && s.substr(0, 2) == "0x" && all_of(s.substr(2), is_hex)) {
        base = 16;
        digits = s.substr(2);
    }
    if (base != 0) {
        std::uint64_t magnitude = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
        constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        if (ec == std::errc{} && end == digits.data() + digits.size()) {
            if (!negative && magnitude <= int64_max)
                return boost::json::value(static_cast<std::int64_t>(magnitude));
            if (!negative) return boost::json::value(magnitude);
            if (magnitude <= int64_max + 1)
                return boost::json::value(static_cast<std::int64_t>(0 - magnitude));
        }
        return parse_error{"integer out of range; quote it to keep it as text"};
    }

    if (is_core_float(s)) {
        std::string_view f = s.front() == '+' ? s.substr(1) : s;
        double d = 0;
        auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), d);
        if (ec == std::errc{} && end == f.data() + f.size() && std::isfinite(d)) return boost::json::value(d);
        return parse_error{"number out of range; quote it to keep it as text"};
    }
    for (std::string_view special : {".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf",
                                     "+.INF", ".nan", ".NaN", ".NAN"}) {
        if (s == special) return parse_error{"JSON has no infinity or NaN; quote it to keep it as text"};
    }
    return boost::json::value(s);
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
}

}  // namespace

parsed_document parse_document(const std::string& text) {
    parsed_document out;
    auto stop = [&](const YAML::Mark& mark, std::string message) {
        out.errors.push_back({std::string(root_path), to_position(mark), std::move(message)});
        return std::move(out);
    };
    structure_check check;
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        // Two documents are already one too many; stopping there also ends the stuck loop.
        while (check.documents_ < 2 && parser.HandleNextDocument(check)) {
        }
    } catch (const YAML::ParserException& e) {
        return stop(e.mark, "YAML syntax error: " + e.msg);
    }
    if (check.stuck_) {
        auto at = static_cast<std::size_t>(check.second_document_.pos);
        auto token = at < text.size() ? quote_for_message(text.substr(at, 1)) : std::string("end of file");
        return stop(check.second_document_, "YAML syntax error: unexpected " + token);
    }
    if (!check.aliases_.empty()) {
        for (const auto& m : check.aliases_) {
            out.errors.push_back({std::string(root_path), to_position(m),
                                  "YAML aliases (*name) are not supported; write the value out"});
        }
        return out;
    }
    if (check.documents_ > 1) {
        return stop(check.second_document_, "a config file holds one YAML document; found a second one");
    }
    try {
        out.root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return stop(e.mark, "YAML syntax error: " + e.msg);
    }
    if (check.documents_ == 0 || out.root.IsNull()) {
        return stop(YAML::Mark{},
                    "the file is empty; expected a mapping of sections (state, log, connections, jobs, ...)");
    }
    return out;
}

// ---- reader ---------------------------------------------------------------------------------

position reader::position_of(const YAML::Mark& m) const {
    return to_position(m);
}

// yaml-cpp gives `key:` (nothing written) the mark of the next token; only a written null
// (`~`, `null`) has a mark of its own.
bool reader::explicit_null_at(const YAML::Mark& m) const {
    if (m.is_null() || m.pos < 0 || static_cast<std::size_t>(m.pos) >= source_.size()) return false;
    auto rest = source_.substr(static_cast<std::size_t>(m.pos));
    for (std::string_view word : {"~", "null", "Null", "NULL"}) {
        if (rest.substr(0, word.size()) != word) continue;
        if (rest.size() == word.size()) return true;
        char next = rest[word.size()];
        if (next == ' ' || next == '\t' || next == '\n' || next == '\r' || next == ',' || next == '}' ||
            next == ']' || next == '#') {
            return true;
        }
    }
    return false;
}

cursor reader::root(const YAML::Node& document) const {
    position pos = position_of(document.Mark());
    if (!pos.known()) pos = {1, 1};
    return cursor(document, std::string(root_path), "", pos, pos);
}

cursor reader::child(const YAML::Node& node, std::string path, std::string pointer, position key_pos) const {
    position pos = position_of(node.Mark());
    if (!pos.known() || (node.IsNull() && !explicit_null_at(node.Mark()))) pos = key_pos;
    return cursor(node, std::move(path), std::move(pointer), pos, key_pos);
}

cursor reader::item(const cursor& list, const YAML::Node& node, std::size_t index) const {
    cursor c = child(node, index_path(list.path(), index), pointer_append(list.pointer(), index), list.pos());
    return cursor(node, c.path(), c.pointer(), c.pos(), c.pos());
}

void reader::error(std::string path, position pos, std::string message) {
    diagnostics_.push_back({std::move(path), pos, std::move(message)});
}

std::vector<diagnostic> reader::take_diagnostics() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                     [](const diagnostic& a, const diagnostic& b) { return a.pos < b.pos; });
    return std::move(diagnostics_);
}

std::string reader::kind_of(const YAML::Node& n) {
    return kind_name(n);
}

std::string reader::show(const scalar& s) {
    return s.secret ? "<secret>" : quote_for_message(s.text);
}

std::optional<scalar> reader::interpolate_scalar(const cursor& at) {
    const YAML::Node& n = at.node();
    const std::string& tag = n.Tag();
    scalar s;
    s.plain = tag == "?";
    if (!s.plain && tag != "!" && tag != str_tag) {
        error(at, "unsupported YAML tag " + quote_for_message(tag) + " (only !!str is accepted)");
        return std::nullopt;
    }
    const bool resolve = !scope_ || std::any_of(scope_->begin(), scope_->end(), [&](const std::string& p) {
        return pointer_within(at.pointer(), p);
    });
    auto v = interpolate(n.Scalar(), env_, resolve ? reference_mode::resolve : reference_mode::check_only);
    if (!v) {
        error(at, v.error());
        return std::nullopt;
    }
    if (v->unresolved) {
        unresolved_.push_back(at.pointer());
        secret_pointers_.push_back(at.pointer());
        return std::nullopt;
    }
    s.text = std::move(v->value);
    s.secret = v->secret;
    if (s.secret) remember_secret(at, s.text);
    return s;
}

void reader::remember_secret(const cursor& at, const std::string& value) {
    if (!value.empty()) secrets_.push_back(value);
    secret_pointers_.push_back(at.pointer());
}

std::optional<scalar> reader::read_scalar(const cursor& at, std::string_view expected) {
    if (!at.node().IsScalar()) {
        error(at, "expected " + std::string(expected) + ", got " + kind_name(at.node()));
        return std::nullopt;
    }
    return interpolate_scalar(at);
}

std::optional<scalar> reader::read_text(const cursor& at) {
    auto s = read_scalar(at, "a string");
    if (s && s->text.empty()) {
        error(at, "must not be empty");
        return std::nullopt;
    }
    return s;
}

std::optional<std::string> reader::read_string(const cursor& at) {
    auto s = read_text(at);
    if (!s) return std::nullopt;
    return std::move(s->text);
}

std::optional<secret_string> reader::read_secret(const cursor& at) {
    auto s = read_text(at);
    if (!s) return std::nullopt;
    if (!s->secret) remember_secret(at, s->text);
    return secret_string(std::move(s->text));
}

std::optional<std::int64_t> reader::read_int(const cursor& at, std::int64_t min, std::int64_t max) {
    auto s = read_scalar(at, "an integer");
    if (!s) return std::nullopt;
    std::string_view t = s->text;
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    bool integer_text = !t.empty() && end == t.data() + t.size() && (t.front() == '-' || is_dec(t.front()));
    if (!integer_text || !(s->plain || s->secret)) {
        error(at, "expected an integer, got " + show(*s) + (s->plain || s->secret ? "" : " (quoted)"));
        return std::nullopt;
    }
    if (ec != std::errc{} || v < min || v > max) {
        std::string range = "must be between " + std::to_string(min) + " and " + std::to_string(max);
        if (min == 0 && max == std::numeric_limits<std::int64_t>::max()) range = "must not be negative";
        error(at, range + (s->secret ? std::string() : ", got " + std::string(s->text)));
        return std::nullopt;
    }
    return v;
}

std::optional<std::chrono::milliseconds> reader::read_duration(const cursor& at,
                                                               std::chrono::milliseconds min,
                                                               std::chrono::milliseconds max) {
    auto s = read_scalar(at, "a duration");
    if (!s) return std::nullopt;
    auto d = parse_duration(s->text);
    if (!d) {
        error(at, "invalid duration " + show(*s) + ": " + d.error());
        return std::nullopt;
    }
    if (*d < min || *d > max) {
        error(at, "must be between " + format_duration(min) + " and " + format_duration(max) +
                      (s->secret ? std::string() : ", got " + format_duration(*d)));
        return std::nullopt;
    }
    return *d;
}

std::optional<std::uint64_t> reader::read_size(const cursor& at, std::uint64_t min, std::uint64_t max) {
    auto s = read_scalar(at, "a size");
    if (!s) return std::nullopt;
    auto v = parse_size(s->text);
    if (!v) {
        error(at, "invalid size " + show(*s) + ": " + v.error());
        return std::nullopt;
    }
    if (*v < min || *v > max) {
        error(at, "must be between " + format_size(min) + " and " + format_size(max) +
                      (s->secret ? std::string() : ", got " + format_size(*v)));
        return std::nullopt;
    }
    return *v;
}

std::optional<std::string> reader::read_choice(const cursor& at,
                                               std::initializer_list<std::string_view> choices) {
    auto s = read_scalar(at, "a string");
    if (!s) return std::nullopt;
    std::vector<std::string> all;
    for (auto c : choices) {
        if (c == s->text) return std::move(s->text);
        all.emplace_back(c);
    }
    std::string message = "unknown value " + show(*s);
    auto hint = s->secret ? std::nullopt : suggest(s->text, all);
    if (hint) {
        message += "; did you mean \"" + *hint + "\"?";
    } else {
        message += " (expected one of: " + join(all) + ")";
    }
    error(at, std::move(message));
    return std::nullopt;
}

std::optional<std::vector<cursor>> reader::read_list(const cursor& at) {
    if (!at.node().IsSequence()) {
        error(at, "expected a list, got " + kind_name(at.node()));
        return std::nullopt;
    }
    std::vector<cursor> items;
    std::size_t i = 0;
    for (auto it = at.node().begin(); it != at.node().end(); ++it, ++i) {
        items.push_back(item(at, *it, i));
    }
    return items;
}

boost::json::value reader::read_json(const cursor& at) {
    return read_json(at, 0);
}

boost::json::value reader::read_json(const cursor& at, int depth) {
    const YAML::Node& n = at.node();
    if (depth > max_json_depth) {
        error(at, "nested deeper than " + std::to_string(max_json_depth) + " levels");
        return nullptr;
    }
    switch (n.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return nullptr;
        case YAML::NodeType::Scalar: {
            auto s = interpolate_scalar(at);
            if (!s) return nullptr;
            if (!s->plain || s->secret) return boost::json::value(s->text);
            auto v = resolve_plain(s->text);
            if (!v) {
                error(at, "cannot read " + show(*s) + " as JSON: " + v.error());
                return nullptr;
            }
            return std::move(v).value();
        }
        case YAML::NodeType::Sequence: {
            boost::json::array a;
            if (auto items = read_list(at)) {
                for (const auto& item : *items) a.push_back(read_json(item, depth + 1));
            }
            return a;
        }
        case YAML::NodeType::Map: {
            boost::json::object o;
            mapping m(*this, at);
            for (auto& [key, value] : m.entries()) {
                if (key == "<<") {
                    error_at_key(value, "merge keys (<<) are not supported");
                    continue;
                }
                o[key] = read_json(value, depth + 1);
            }
            return o;
        }
    }
    return nullptr;
}

// ---- mapping --------------------------------------------------------------------------------

mapping::mapping(reader& r, const cursor& at, bool null_is_empty) : r_(r), at_(at) {
    const YAML::Node& n = at.node();
    if (n.IsNull() && null_is_empty) {
        ok_ = true;
        return;
    }
    if (!n.IsMap()) {
        r_.error(at, "expected a mapping, got " + kind_name(n));
        return;
    }
    ok_ = true;
    // `*it` is a pair of Node handles by value: bind it whole (`it->first` would dangle with
    // the iterator's proxy).
    for (const auto& kv : n) {
        const YAML::Node& k = kv.first;
        position key_pos = r_.position_of(k.Mark());
        if (!key_pos.known()) key_pos = at.pos();
        if (!k.IsScalar()) {
            r_.error(at.path(), key_pos, "keys must be strings, got " + kind_name(k));
            continue;
        }
        const std::string& key = k.Scalar();
        auto dup =
            std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.key == key; });
        if (dup != entries_.end()) {
            position first = dup->value.key_pos();
            r_.error(child_path(at.path(), key), key_pos,
                     "duplicate key (first at " + std::to_string(first.line) + ":" +
                         std::to_string(first.column) + ")");
            continue;
        }
        entries_.push_back({key, r_.child(kv.second, child_path(at.path(), key),
                                          pointer_append(at.pointer(), key), key_pos)});
    }
}

std::optional<cursor> mapping::get(std::string_view key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
    for (auto& e : entries_) {
        if (e.key == key) {
            e.used = true;
            return e.value;
        }
    }
    return std::nullopt;
}

std::optional<cursor> mapping::require(std::string_view key) {
    auto c = get(key);
    if (!c && ok_) r_.error(at_.path(), at_.key_pos(), "missing required key \"" + std::string(key) + "\"");
    return c;
}

std::vector<std::pair<std::string, cursor>> mapping::entries() {
    std::vector<std::pair<std::string, cursor>> out;
    for (auto& e : entries_) {
        e.used = true;
        out.emplace_back(e.key, e.value);
    }
    return out;
}

void mapping::finish() {
    for (const auto& e : entries_) {
        if (e.used) continue;
        std::string message;
        if (e.key == "<<") {
            message = "merge keys (<<) are not supported";
        } else if (auto hint = suggest(e.key, known_)) {
            message = "unknown key; did you mean \"" + *hint + "\"?";
        } else if (known_.empty()) {
            message = "unknown key (this mapping takes no keys)";
        } else {
            message = "unknown key (expected one of: " + join(known_) + ")";
        }
        r_.error_at_key(e.value, std::move(message));
    }
}

// ---- helpers --------------------------------------------------------------------------------

std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates) {
    // Optimal string alignment distance: insertions, deletions, substitutions, transpositions.
    auto distance = [](std::string_view a, std::string_view b) {
        std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
        for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
        for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            for (std::size_t j = 1; j <= b.size(); ++j) {
                std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                    d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.size()][b.size()];
    };
    // One edit per three characters, at least one and at most three: `lisen` → `listen`, but
    // `db` is not a typo of `dir`.
    std::size_t allowed = std::clamp<std::size_t>(word.size() / 3, 1, 3);
    std::optional<std::string> best;
    std::size_t best_distance = allowed + 1;
    for (const auto& c : candidates) {
        auto dist = distance(word, c);
        if (dist < best_distance) {
            best_distance = dist;
            best = c;
        }
    }
    return best;
}

namespace {

// A mapping or list that is a mapping value is recorded at its key: errors about it as a whole
// ("missing key") read better there than at its first child.
void map_node(const reader& r, const cursor& at, bool is_mapping_value, source_map& out) {
    const YAML::Node& n = at.node();
    bool container = n.IsMap() || n.IsSequence();
    out.add(at.pointer(), container && is_mapping_value ? at.key_pos() : at.pos(), n.IsSequence());
    if (n.IsMap()) {
        for (const auto& kv : n) {
            if (!kv.first.IsScalar()) continue;
            const std::string& key = kv.first.Scalar();
            auto pointer = pointer_append(at.pointer(), key);
            if (out.find(pointer)) continue;  // a duplicate key: the first one counts
            position key_pos = to_position(kv.first.Mark());
            map_node(r, r.child(kv.second, child_path(at.path(), key), std::move(pointer), key_pos), true,
                     out);
        }
    } else if (n.IsSequence()) {
        std::size_t i = 0;
        for (auto it = n.begin(); it != n.end(); ++it, ++i) {
            map_node(r, r.item(at, *it, i), false, out);
        }
    }
}

}  // namespace

source_map map_positions(const reader& r, const cursor& root) {
    source_map out;
    map_node(r, root, false, out);
    for (const auto& s : r.secrets()) out.add_secret(s);
    for (const auto& p : r.secret_pointers()) out.mark_secret(p);
    return out;
}

}  // namespace tributary::config::detail
