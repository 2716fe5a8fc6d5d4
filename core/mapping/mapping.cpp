#include "core/mapping/mapping.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <system_error>

#include <boost/json/string.hpp>

#include "core/time.hpp"
#include "core/types/text.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::mapping {

namespace json = boost::json;

namespace detail {

enum class function : std::uint8_t {
    coalesce,
    lower,
    upper,
    trim,
    concat,
    to_string,
    to_int,
    parse_date,
    format_date,
};

// One step of a path: a property name (or map key), or an array index.
struct segment {
    std::string name{};
    std::uint32_t index = 0;
    bool is_index = false;
    bool quoted = false;  // written ["..."]; only for messages
};

enum class node_kind : std::uint8_t { path, literal, call };

struct node {
    node_kind kind = node_kind::literal;
    function fn = function::coalesce;
    std::uint32_t offset = 0;
    std::vector<segment> path{};
    json::value literal{};
    // The value arguments of a call; the layout argument of the date functions is kept apart.
    std::vector<node> args{};
    std::string layout{};
};

struct expression_access {
    static const node& root(const expression& e) { return *e.root_; }
    static expression make(node root, std::string_view text) {
        return expression(std::make_shared<const node>(std::move(root)), std::string(text));
    }
};

}  // namespace detail

namespace {

using detail::function;
using detail::node;
using detail::node_kind;
using detail::segment;

struct function_info {
    std::string_view name;
    function fn;
    std::size_t min_args;
    std::size_t max_args;
};

constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

constexpr std::array<function_info, 9> functions{{
    {"coalesce", function::coalesce, 1, unlimited},
    {"lower", function::lower, 1, 1},
    {"upper", function::upper, 1, 1},
    {"trim", function::trim, 1, 1},
    {"concat", function::concat, 1, unlimited},
    {"string", function::to_string, 1, 1},
    {"int", function::to_int, 1, 1},
    {"parse_date", function::parse_date, 1, 2},
    {"format_date", function::format_date, 1, 2},
}};

std::string_view name_of(function fn) {
    for (const auto& f : functions)
        if (f.fn == fn) return f.name;
    return "?";
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_identifier_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_identifier_char(char c) {
    return is_identifier_start(c) || is_digit(c);
}
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_date_function(function fn) {
    return fn == function::parse_date || fn == function::format_date;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing. A recursive descent over the text; recursion happens only through call arguments,
// so max_expression_depth bounds the stack whatever the input.

class parser {
public:
    explicit parser(std::string_view text) : text_(text) {}

    expected<node, expression_error> run() {
        if (text_.size() > max_expression_bytes)
            return expression_error{0, "is longer than " + std::to_string(max_expression_bytes) + " bytes"};
        node root;
        if (!parse_expression(root, 1)) return std::move(error_);
        skip_space();
        if (!at_end())
            return expression_error{pos_, "unexpected " + describe(pos_) + " after the expression"};
        return root;
    }

private:
    bool at_end() const { return pos_ >= text_.size(); }
    bool peek(char c) const { return !at_end() && text_[pos_] == c; }
    void skip_space() {
        while (!at_end() && is_space(text_[pos_])) ++pos_;
    }

    std::string describe(std::size_t at) const {
        if (at >= text_.size()) return "end of text";
        const auto c = static_cast<unsigned char>(text_[at]);
        if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
        static constexpr char hex[] = "0123456789abcdef";
        return std::string("byte 0x") + hex[c >> 4] + hex[c & 0xF];
    }

    bool fail(std::size_t at, std::string message) {
        error_ = {at, std::move(message)};
        return false;
    }

    bool parse_expression(node& out, std::size_t depth) {
        skip_space();
        out.offset = static_cast<std::uint32_t>(pos_);
        if (depth > max_expression_depth)
            return fail(pos_, "nests calls deeper than " + std::to_string(max_expression_depth) + " levels");
        if (at_end()) return fail(pos_, "expected an expression, found the end of the text");
        const char c = text_[pos_];
        if (c == '"' || c == '\'') {
            std::string text;
            if (!parse_string(text)) return false;
            out.kind = node_kind::literal;
            out.literal = json::string(text);
            return true;
        }
        if (c == '-' || is_digit(c)) return parse_number(out);
        if (c == '[') {
            out.kind = node_kind::path;
            return parse_steps(out);
        }
        if (!is_identifier_start(c)) return fail(pos_, "expected an expression, found " + describe(pos_));

        const std::size_t start = pos_;
        const std::string_view name = read_identifier();
        const std::size_t after = pos_;
        skip_space();
        if (peek('(')) return parse_call(out, name, start, depth);
        pos_ = after;
        if (name == "true" || name == "false" || name == "null") {
            if (peek('.') || peek('['))
                return fail(start, std::string(name) + " is a literal; write [\"" + std::string(name) +
                                       "\"] for a property of that name");
            out.kind = node_kind::literal;
            if (name == "null")
                out.literal = nullptr;
            else
                out.literal = (name == "true");
            return true;
        }
        out.kind = node_kind::path;
        out.path.push_back({std::string(name)});
        return parse_steps(out);
    }

    std::string_view read_identifier() {
        const std::size_t start = pos_;
        while (!at_end() && is_identifier_char(text_[pos_])) ++pos_;
        return text_.substr(start, pos_ - start);
    }

    // The steps after a path's head (or, for a path that starts with ["..."], all of them).
    bool parse_steps(node& out) {
        while (!at_end()) {
            if (text_[pos_] == '.') {
                ++pos_;
                if (at_end() || !is_identifier_start(text_[pos_]))
                    return fail(pos_, "expected a property name after '.', found " + describe(pos_));
                out.path.push_back({std::string(read_identifier())});
            } else if (text_[pos_] == '[') {
                if (!parse_bracket(out)) return false;
            } else {
                break;
            }
        }
        return true;
    }

    bool parse_bracket(node& out) {
        const std::size_t open = pos_++;
        segment s;
        if (!at_end() && is_digit(text_[pos_])) {
            const std::size_t start = pos_;
            while (!at_end() && is_digit(text_[pos_])) ++pos_;
            const auto digits = text_.substr(start, pos_ - start);
            const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), s.index);
            if (ec != std::errc{} || end != digits.data() + digits.size() ||
                s.index >= types::max_array_elements)
                return fail(start, "the index is too large");
            s.is_index = true;
        } else if (peek('"') || peek('\'')) {
            if (!parse_string(s.name)) return false;
            s.quoted = true;
        } else {
            return fail(pos_, "expected an index or a quoted name after '[', found " + describe(pos_));
        }
        if (!peek(']')) return fail(open, "'[' is not closed by ']'");
        ++pos_;
        out.path.push_back(std::move(s));
        return true;
    }

    bool parse_string(std::string& out) {
        const std::size_t start = pos_;
        const char quote = text_[pos_++];
        while (true) {
            if (at_end()) return fail(start, "the string is not closed");
            const char c = text_[pos_];
            if (c == quote) {
                ++pos_;
                break;
            }
            if (c != '\\') {
                out += c;
                ++pos_;
                continue;
            }
            const std::size_t escape = pos_++;
            if (at_end()) return fail(start, "the string is not closed");
            switch (const char e = text_[pos_++]) {
                case '\\':
                case '\'':
                case '"':
                case '/':
                    out += e;
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!read_hex4(cp)) return fail(escape, "\\u needs four hex digits");
                    if (cp >= 0xDC00 && cp <= 0xDFFF)
                        return fail(escape, "\\u escapes an unpaired surrogate");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        std::uint32_t low = 0;
                        if (!peek('\\') || pos_ + 1 >= text_.size() || text_[pos_ + 1] != 'u')
                            return fail(escape, "\\u escapes an unpaired surrogate");
                        pos_ += 2;
                        if (!read_hex4(low) || low < 0xDC00 || low > 0xDFFF)
                            return fail(escape, "\\u escapes an unpaired surrogate");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    return fail(escape, "unknown escape \\" + describe(escape + 1));
            }
        }
        if (!types::valid_utf8(out)) return fail(start, "the string is not valid UTF-8");
        return true;
    }

    bool read_hex4(std::uint32_t& out) {
        if (text_.size() - pos_ < 4) return false;
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_++];
            std::uint32_t digit = 0;
            if (is_digit(c))
                digit = static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                digit = static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                digit = static_cast<std::uint32_t>(c - 'A' + 10);
            else
                return false;
            out = out * 16 + digit;
        }
        return true;
    }

    bool parse_number(node& out) {
        const std::size_t start = pos_;
        if (peek('-')) ++pos_;
        if (at_end() || !is_digit(text_[pos_]))
            return fail(pos_, "expected a digit, found " + describe(pos_));
        if (text_[pos_] == '0')
            ++pos_;
        else
            while (!at_end() && is_digit(text_[pos_])) ++pos_;
        bool integral = true;
        if (peek('.')) {
            ++pos_;
            if (at_end() || !is_digit(text_[pos_]))
                return fail(pos_, "expected a digit after '.', found " + describe(pos_));
            while (!at_end() && is_digit(text_[pos_])) ++pos_;
            integral = false;
        }
        if (peek('e') || peek('E')) {
            ++pos_;
            if (peek('+') || peek('-')) ++pos_;
            if (at_end() || !is_digit(text_[pos_]))
                return fail(pos_, "expected a digit in the exponent, found " + describe(pos_));
            while (!at_end() && is_digit(text_[pos_])) ++pos_;
            integral = false;
        }
        const char* first = text_.data() + start;
        const char* last = text_.data() + pos_;
        out.kind = node_kind::literal;
        if (integral) {
            std::int64_t v = 0;
            const auto [end, ec] = std::from_chars(first, last, v);
            if (ec != std::errc{} || end != last)
                return fail(start, "the integer is outside the int64 range");
            out.literal = v;
        } else {
            double v = 0;
            const auto [end, ec] = std::from_chars(first, last, v);
            if (ec != std::errc{} || end != last || !std::isfinite(v))
                return fail(start, "the number is outside the float64 range");
            out.literal = v;
        }
        return true;
    }

    bool parse_call(node& out, std::string_view name, std::size_t name_offset, std::size_t depth) {
        const function_info* info = nullptr;
        for (const auto& f : functions)
            if (f.name == name) info = &f;
        if (!info) return fail(name_offset, "unknown function \"" + std::string(name) + "\"");
        out.kind = node_kind::call;
        out.fn = info->fn;
        out.offset = static_cast<std::uint32_t>(name_offset);
        ++pos_;  // '('
        skip_space();
        if (peek(')')) {
            ++pos_;
        } else {
            while (true) {
                node arg;
                if (!parse_expression(arg, depth + 1)) return false;
                out.args.push_back(std::move(arg));
                skip_space();
                if (peek(',')) {
                    ++pos_;
                    continue;
                }
                if (peek(')')) {
                    ++pos_;
                    break;
                }
                return fail(pos_, "expected ',' or ')', found " + describe(pos_));
            }
        }

        const std::size_t n = out.args.size();
        if (n < info->min_args || n > info->max_args) {
            std::string wanted = std::to_string(info->min_args);
            if (info->max_args == unlimited)
                wanted = "at least " + wanted + (info->min_args == 1 ? " argument" : " arguments");
            else if (info->max_args != info->min_args)
                wanted += " or " + std::to_string(info->max_args) + " arguments";
            else
                wanted += info->min_args == 1 ? " argument" : " arguments";
            return fail(name_offset, std::string(name) + " takes " + wanted + ", not " + std::to_string(n));
        }
        if (is_date_function(out.fn) && n == 2) return take_layout(out, name);
        return true;
    }

    // The layout is fixed when the expression is compiled, so that a bad layout is a config
    // error reported by validate, not a failure on every record.
    bool take_layout(node& out, std::string_view name) {
        const node& arg = out.args.back();
        if (arg.kind != node_kind::literal || !arg.literal.is_string())
            return fail(arg.offset, std::string(name) + ": the layout must be a string literal");
        std::string layout(arg.literal.get_string());
        if (!types::is_unix_layout(layout)) {
            if (const auto problem = types::check_layouts({.datetime = layout})) {
                // check_layouts names the kind ("datetime layout needs ..."); here the function does.
                std::string_view reason = *problem;
                for (std::string_view word : {"datetime ", "layout "})
                    if (reason.starts_with(word)) reason.remove_prefix(word.size());
                return fail(arg.offset, std::string(name) + ": the layout " + std::string(reason));
            }
        }
        out.layout = std::move(layout);
        out.args.pop_back();
        return true;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    expression_error error_{};
};

// ---------------------------------------------------------------------------------------------
// Type inference.

const types::type& string_type() {
    static const types::type t = types::make_string().value();
    return t;
}
const types::type& int_type() {
    static const types::type t = types::make_int(64).value();
    return t;
}
const types::type& uint_type() {
    static const types::type t = types::make_uint(64).value();
    return t;
}
const types::type& float_type() {
    static const types::type t = types::make_float(64).value();
    return t;
}
const types::type& boolean_type() {
    static const types::type t = types::make_boolean();
    return t;
}
const types::type& datetime_type() {
    static const types::type t = types::make_datetime();
    return t;
}
const types::type& json_type() {
    static const types::type t = types::make_json();
    return t;
}

bool is_scalar(types::kind k) {
    using types::kind;
    return k != kind::invalid && k != kind::array && k != kind::object && k != kind::map && k != kind::json;
}

std::string describe(const inferred_type& t) {
    return t.type.valid() ? types::to_string(t.type) : "null";
}

// The path as written, up to step `count`.
std::string path_text(const std::vector<segment>& path, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count && i < path.size(); ++i) {
        const segment& s = path[i];
        if (s.is_index) {
            out += "[" + std::to_string(s.index) + "]";
        } else if (s.quoted) {
            out += "[\"";
            for (char c : s.name) {
                if (c == '"' || c == '\\') out += '\\';
                out += c;
            }
            out += "\"]";
        } else {
            if (!out.empty()) out += '.';
            out += s.name;
        }
    }
    return out;
}

// A string type keeping the length limits that a per-character ASCII change preserves.
types::type string_like(const types::type& from, bool keep_min_length) {
    if (from.kind() != types::kind::string) return string_type();
    types::string_options o;
    if (keep_min_length) o.min_length = from.min_length();
    o.max_length = from.max_length();
    o.max_bytes = from.max_bytes();
    auto t = types::make_string(std::move(o));
    return t ? *t : string_type();
}

types::type widened_decimal(const types::type& a, const types::type& b) {
    const int scale = std::max(a.scale(), b.scale());
    const int digits = std::max(a.precision() - a.scale(), b.precision() - b.scale());
    const int precision = std::min(76, digits + scale);
    auto t = types::make_decimal(precision, std::min(scale, std::min(precision, 37)));
    return t ? *t : json_type();
}

// The type of values that are either `a` or `b`, or nothing when they do not mix.
std::optional<types::type> unify(const types::type& a, const types::type& b) {
    using types::kind;
    if (a == b) return a;
    const kind ka = a.kind();
    const kind kb = b.kind();
    if (ka == kind::json || kb == kind::json) return json_type();
    if (ka == kb) {
        switch (ka) {
            case kind::string:
                return string_type();
            case kind::integer:
                return a.is_unsigned() && b.is_unsigned() ? uint_type() : int_type();
            case kind::floating:
                return float_type();
            case kind::decimal:
                return widened_decimal(a, b);
            case kind::array:
            case kind::object:
            case kind::map:
                return std::nullopt;
            default:
                return a;  // kinds without constraints
        }
    }
    const auto numeric = [](kind k) { return k == kind::integer || k == kind::floating || k == kind::year; };
    if (numeric(ka) && numeric(kb)) {
        if (ka == kind::floating || kb == kind::floating) return float_type();
        return int_type();  // int and year
    }
    return std::nullopt;
}

class checker {
public:
    explicit checker(const types::type& source) : source_(source) {}

    bool infer(const node& n, inferred_type& out) {
        switch (n.kind) {
            case node_kind::literal:
                out = literal_type(n.literal);
                return true;
            case node_kind::path:
                return infer_path(n, out);
            case node_kind::call:
                return infer_call(n, out);
        }
        return fail(n.offset, "unknown expression");
    }

    expression_error error_{};

private:
    bool fail(std::size_t offset, std::string message) {
        error_ = {offset, std::move(message)};
        return false;
    }

    static inferred_type literal_type(const json::value& v) {
        inferred_type t;
        if (v.is_null()) {
            t.may_be_null = true;
        } else if (v.is_bool()) {
            t.type = boolean_type();
        } else if (v.is_int64()) {
            auto i = types::make_int(64, v.get_int64(), v.get_int64());
            t.type = i ? *i : int_type();
        } else if (v.is_double()) {
            auto f = types::make_float(64, false, v.get_double(), v.get_double());
            t.type = f ? *f : float_type();
        } else {
            auto s = types::make_string({.values = {std::string(v.get_string())}});
            t.type = s ? *s : string_type();
        }
        return t;
    }

    bool infer_path(const node& n, inferred_type& out) {
        if (!source_.valid()) {
            out = {json_type(), true, true};
            return true;
        }
        using types::kind;
        const types::type* t = &source_;
        bool null = false;
        bool missing = false;
        for (std::size_t i = 0; i < n.path.size() && t->kind() != kind::json; ++i) {
            const segment& s = n.path[i];
            const std::string parent = i == 0 ? "the source record" : "\"" + path_text(n.path, i) + "\"";
            if (s.is_index) {
                if (t->kind() != kind::array)
                    return fail(n.offset, parent + " is " + types::to_string(*t) + ", not an array");
                t = &t->element();
                missing = true;
            } else if (t->kind() == kind::object) {
                const types::property* p = t->find(s.name);
                if (!p) return fail(n.offset, "unknown source property \"" + path_text(n.path, i + 1) + "\"");
                null = null || p->nullable;
                missing = missing || p->read_optional;
                t = &p->type;
            } else if (t->kind() == kind::map) {
                t = &t->element();
                missing = true;
            } else if (t->kind() == kind::array) {
                return fail(n.offset, parent + " is an array; pick an element with [index]");
            } else {
                return fail(n.offset, parent + " is " + types::to_string(*t) + " and has no properties");
            }
        }
        if (t->kind() == kind::json) null = missing = true;
        out = {*t, null, missing};
        return true;
    }

    bool argument_error(const node& call, std::size_t i, const inferred_type& arg, std::string_view wanted) {
        return fail(call.args[i].offset, std::string(name_of(call.fn)) + ": argument " +
                                             std::to_string(i + 1) + " must be " + std::string(wanted) +
                                             ", not " + describe(arg));
    }

    bool infer_call(const node& n, inferred_type& out) {
        using types::kind;
        std::vector<inferred_type> args(n.args.size());
        for (std::size_t i = 0; i < n.args.size(); ++i)
            if (!infer(n.args[i], args[i])) return false;
        const auto k = [&](std::size_t i) { return args[i].type.kind(); };
        const auto pass_through = [&](const types::type& t) {
            out = {t, args[0].may_be_null, args[0].may_be_missing};
        };

        switch (n.fn) {
            case function::coalesce:
                return infer_coalesce(n, args, out);
            case function::lower:
            case function::upper:
            case function::trim:
                if (k(0) != kind::string && k(0) != kind::json)
                    return argument_error(n, 0, args[0], "a string");
                pass_through(string_like(args[0].type, n.fn != function::trim));
                return true;
            case function::concat:
                for (std::size_t i = 0; i < args.size(); ++i)
                    if (k(i) != kind::invalid && k(i) != kind::json && !is_scalar(k(i)))
                        return argument_error(n, i, args[i], "a scalar");
                out = {string_type(), false, false};
                return true;
            case function::to_string:
                if (k(0) != kind::json && !is_scalar(k(0))) return argument_error(n, 0, args[0], "a scalar");
                pass_through(string_type());
                return true;
            case function::to_int:
                if (k(0) != kind::integer && k(0) != kind::floating && k(0) != kind::decimal &&
                    k(0) != kind::year && k(0) != kind::string && k(0) != kind::json)
                    return argument_error(n, 0, args[0], "a number or a string");
                pass_through(int_type());
                return true;
            case function::parse_date: {
                const bool unix_layout = types::is_unix_layout(n.layout);
                const bool ok = k(0) == kind::string || k(0) == kind::json ||
                                (unix_layout && (k(0) == kind::integer || k(0) == kind::floating));
                if (!ok)
                    return argument_error(n, 0, args[0], unix_layout ? "a string or a number" : "a string");
                pass_through(datetime_type());
                return true;
            }
            case function::format_date:
                if (k(0) != kind::datetime && k(0) != kind::date && k(0) != kind::json)
                    return argument_error(n, 0, args[0],
                                          "a datetime or a date (parse strings with parse_date)");
                pass_through(types::is_unix_layout(n.layout) ? int_type() : string_type());
                return true;
        }
        return fail(n.offset, "unknown function");
    }

    bool infer_coalesce(const node& n, const std::vector<inferred_type>& args, inferred_type& out) {
        types::type result;
        bool all_may_be_empty = true;
        bool any_null = false;
        bool all_missing = true;
        for (std::size_t i = 0; i < args.size(); ++i) {
            const inferred_type& a = args[i];
            all_may_be_empty = all_may_be_empty && (a.may_be_null || a.may_be_missing);
            any_null = any_null || a.may_be_null;
            all_missing = all_missing && a.may_be_missing;
            if (!a.type.valid()) continue;
            if (!result.valid()) {
                result = a.type;
                continue;
            }
            auto u = unify(result, a.type);
            if (!u)
                return fail(n.args[i].offset, "coalesce: argument " + std::to_string(i + 1) + " is " +
                                                  types::to_string(a.type) + ", which does not mix with " +
                                                  types::to_string(result));
            result = *u;
        }
        out = {result, all_may_be_empty && any_null, all_may_be_empty && all_missing};
        return true;
    }

    const types::type& source_;
};

// ---------------------------------------------------------------------------------------------
// Evaluation. Paths and literals are borrowed from the record and the tree; only functions
// build values, so a mapping of plain paths copies each value once, into the output.

const json::value& null_value() {
    static const json::value v;
    return v;
}

// The result of a node: `ptr` is null for no value, points into the record or the tree when
// borrowed, or at `owned`. An operand is never moved: `ptr` may point at its own member.
struct operand {
    const json::value* ptr = nullptr;
    json::value owned{};

    bool borrowed() const { return ptr != &owned; }
    bool empty() const { return ptr == nullptr || ptr->is_null(); }
};

void move_into(operand& from, operand& to) {
    if (from.ptr && !from.borrowed()) {
        to.owned = std::move(from.owned);
        to.ptr = &to.owned;
    } else {
        to.ptr = from.ptr;
    }
}

// The text of a scalar appended to `out`; false for arrays and objects.
bool append_text(const json::value& v, json::string& out) {
    char buffer[32];
    std::to_chars_result r{};
    switch (v.kind()) {
        case json::kind::string:
            out.append(v.get_string());
            return true;
        case json::kind::bool_:
            out.append(v.get_bool() ? "true" : "false");
            return true;
        case json::kind::int64:
            r = std::to_chars(buffer, buffer + sizeof buffer, v.get_int64());
            break;
        case json::kind::uint64:
            r = std::to_chars(buffer, buffer + sizeof buffer, v.get_uint64());
            break;
        case json::kind::double_:
            r = std::to_chars(buffer, buffer + sizeof buffer, v.get_double());
            break;
        default:
            return false;
    }
    out.append(std::string_view(buffer, static_cast<std::size_t>(r.ptr - buffer)));
    return true;
}

// An optionally signed decimal number ("42", "-7", "+3", "12.50"), truncated toward zero.
std::optional<std::int64_t> parse_integer_text(std::string_view s) {
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    const std::size_t dot = s.find('.');
    std::string_view whole = s.substr(0, dot);
    if (dot != std::string_view::npos) {
        const std::string_view fraction = s.substr(dot + 1);
        if (fraction.empty() || !std::all_of(fraction.begin(), fraction.end(), is_digit)) return std::nullopt;
    }
    if (whole.empty() || !std::all_of(whole.begin(), whole.end(), is_digit)) return std::nullopt;
    std::uint64_t magnitude = 0;
    const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), magnitude);
    if (ec != std::errc{} || end != whole.data() + whole.size()) return std::nullopt;
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (negative) {
        if (magnitude > max + 1) return std::nullopt;
        return magnitude == max + 1 ? std::numeric_limits<std::int64_t>::min()
                                    : -static_cast<std::int64_t>(magnitude);
    }
    if (magnitude > max) return std::nullopt;
    return static_cast<std::int64_t>(magnitude);
}

class evaluator {
public:
    explicit evaluator(const json::object& record) : record_(record) {}

    bool eval(const node& n, operand& out) {
        switch (n.kind) {
            case node_kind::literal:
                out.ptr = &n.literal;
                return true;
            case node_kind::path:
                out.ptr = lookup(n.path);
                return true;
            case node_kind::call:
                return call(n, out);
        }
        return fail(n, 0, "is not an expression");
    }

    const std::string& error() const { return error_; }

private:
    const json::value* lookup(const std::vector<segment>& path) const {
        const json::value* v = nullptr;
        for (std::size_t i = 0; i < path.size(); ++i) {
            const segment& s = path[i];
            if (i == 0) {
                if (s.is_index) return nullptr;
                v = record_.if_contains(s.name);
            } else if (v->is_null()) {
                return &null_value();
            } else if (s.is_index) {
                const json::array* a = v->if_array();
                if (!a || s.index >= a->size()) return nullptr;
                v = &(*a)[s.index];
            } else {
                const json::object* o = v->if_object();
                if (!o) return nullptr;
                v = o->if_contains(s.name);
            }
            if (!v) return nullptr;
        }
        return v;
    }

    bool fail(const node& call, std::size_t argument, std::string_view what) {
        error_.assign(name_of(call.fn));
        error_ += ": argument ";
        error_ += std::to_string(argument + 1);
        error_ += ' ';
        error_ += what;
        return false;
    }

    bool call(const node& n, operand& out) {
        switch (n.fn) {
            case function::coalesce:
                return coalesce(n, out);
            case function::concat:
                return concat(n, out);
            default:
                break;
        }
        operand arg;
        if (!eval(n.args[0], arg)) return false;
        if (arg.empty()) {
            move_into(arg, out);
            return true;
        }
        switch (n.fn) {
            case function::lower:
            case function::upper:
            case function::trim:
                return change_case(n, arg, out);
            case function::to_string:
                return to_text(n, arg, out);
            case function::to_int:
                return to_int(n, arg, out);
            case function::parse_date:
                return parse_date(n, arg, out);
            case function::format_date:
                return format_date(n, arg, out);
            default:
                return fail(n, 0, "is not supported");
        }
    }

    bool coalesce(const node& n, operand& out) {
        bool saw_null = false;
        for (const node& a : n.args) {
            operand arg;
            if (!eval(a, arg)) return false;
            if (!arg.empty()) {
                move_into(arg, out);
                return true;
            }
            saw_null = saw_null || arg.ptr != nullptr;
        }
        out.ptr = saw_null ? &null_value() : nullptr;
        return true;
    }

    bool concat(const node& n, operand& out) {
        json::string& text = out.owned.emplace_string();
        out.ptr = &out.owned;
        for (std::size_t i = 0; i < n.args.size(); ++i) {
            operand arg;
            if (!eval(n.args[i], arg)) return false;
            if (arg.empty()) continue;
            if (!append_text(*arg.ptr, text)) return fail(n, i, "is not a scalar");
        }
        return true;
    }

    // lower, upper and trim; the argument is returned as it is when nothing changes.
    bool change_case(const node& n, operand& arg, operand& out) {
        if (!arg.ptr->is_string()) return fail(n, 0, "is not a string");
        std::string_view s = arg.ptr->get_string();
        if (n.fn == function::trim) {
            std::size_t begin = 0;
            std::size_t end = s.size();
            while (begin < end && is_space(s[begin])) ++begin;
            while (end > begin && is_space(s[end - 1])) --end;
            if (begin == 0 && end == s.size()) {
                move_into(arg, out);
            } else {
                out.owned.emplace_string() = s.substr(begin, end - begin);
                out.ptr = &out.owned;
            }
            return true;
        }
        const bool to_lower = n.fn == function::lower;
        const char from = to_lower ? 'A' : 'a';
        const auto changes = [&](char c) { return c >= from && c <= from + 25; };
        if (std::none_of(s.begin(), s.end(), changes)) {
            move_into(arg, out);
            return true;
        }
        json::string& text = out.owned.emplace_string();
        text = s;
        for (char& c : text)
            if (changes(c)) c = static_cast<char>(to_lower ? c + ('a' - 'A') : c - ('a' - 'A'));
        out.ptr = &out.owned;
        return true;
    }

    bool to_text(const node& n, operand& arg, operand& out) {
        if (arg.ptr->is_string()) {
            move_into(arg, out);
            return true;
        }
        json::string& text = out.owned.emplace_string();
        out.ptr = &out.owned;
        if (!append_text(*arg.ptr, text)) return fail(n, 0, "is not a scalar");
        return true;
    }

    bool to_int(const node& n, operand& arg, operand& out) {
        const json::value& v = *arg.ptr;
        std::int64_t result = 0;
        if (v.is_int64()) {
            move_into(arg, out);
            return true;
        } else if (v.is_uint64()) {
            if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return fail(n, 0, "is outside the int64 range");
            result = static_cast<std::int64_t>(v.get_uint64());
        } else if (v.is_double()) {
            const double d = std::trunc(v.get_double());
            // 2^63 is exact as a double; every double in [-2^63, 2^63) converts without overflow.
            if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
                return fail(n, 0, "is outside the int64 range");
            result = static_cast<std::int64_t>(d);
        } else if (v.is_string()) {
            const auto parsed = parse_integer_text(v.get_string());
            if (!parsed) return fail(n, 0, "is not a decimal number within the int64 range");
            result = *parsed;
        } else {
            return fail(n, 0, "is not a number or a string");
        }
        out.owned = result;
        out.ptr = &out.owned;
        return true;
    }

    bool parse_date(const node& n, operand& arg, operand& out) {
        const json::value& v = *arg.ptr;
        types::result<std::int64_t> micros = types::unexpected{""};
        if (v.is_string()) {
            micros = types::parse_datetime(v.get_string(), n.layout);
        } else if (v.is_int64() || v.is_uint64() || v.is_double()) {
            if (!types::is_unix_layout(n.layout))
                return fail(n, 0, "is a number, but the layout is not a Unix layout");
            if (v.is_int64())
                micros = types::datetime_from_unix(v.get_int64(), n.layout);
            else if (v.is_double())
                micros = types::datetime_from_unix(v.get_double(), n.layout);
            else
                micros = types::unexpected{"is outside years 1 to 9999"};
        } else {
            return fail(n, 0, "is not a string");
        }
        if (!micros) return fail(n, 0, micros.error());
        out.owned.emplace_string() = types::format_datetime(*micros);
        out.ptr = &out.owned;
        return true;
    }

    bool format_date(const node& n, operand& arg, operand& out) {
        const json::value& v = *arg.ptr;
        if (!v.is_string()) return fail(n, 0, "is not a datetime or a date");
        // Canonical datetimes and dates are both ISO 8601; a date reads as midnight UTC.
        const auto micros = types::parse_datetime(v.get_string(), {});
        if (!micros) return fail(n, 0, "is not a datetime or a date");
        const std::string_view layout = n.layout;
        if (layout == "unix") {
            out.owned = floor_div(*micros, 1'000'000);
        } else if (layout == "unixmilli") {
            out.owned = floor_div(*micros, 1'000);
        } else if (layout == "unixmicro") {
            out.owned = *micros;
        } else if (layout == "unixnano") {
            constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 1000;
            if (*micros > limit || *micros < -limit) return fail(n, 0, "does not fit a unixnano count");
            out.owned = *micros * 1000;
        } else {
            out.owned.emplace_string() = types::format_datetime(*micros, layout);
        }
        out.ptr = &out.owned;
        return true;
    }

    const json::object& record_;
    std::string error_;
};

const node& root_of(const expression& e) {
    return detail::expression_access::root(e);
}

bool valid_destination(std::string_view property, std::vector<std::string>& path) {
    while (true) {
        const std::size_t dot = property.find('.');
        const std::string_view name = property.substr(0, dot);
        if (!types::valid_property_name(name)) return false;
        path.emplace_back(name);
        if (dot == std::string_view::npos) return true;
        property.remove_prefix(dot + 1);
    }
}

// The destination property at `path`, through objects and map values.
std::optional<types::property> find_destination(const types::type& destination,
                                                const std::vector<std::string>& path) {
    const types::type* t = &destination;
    std::optional<types::property> found;
    for (const std::string& name : path) {
        if (t->kind() == types::kind::object) {
            const types::property* p = t->find(name);
            if (!p) return std::nullopt;
            found = *p;
        } else if (t->kind() == types::kind::map) {
            found = types::property{.name = name, .type = t->element()};
        } else {
            return std::nullopt;
        }
        t = &found->type;
    }
    return found;
}

std::string sub_path_message(const types::alignment_problem& p) {
    if (p.path.empty()) return "the value " + p.message;
    return "\"" + p.path + "\" " + p.message;
}

// Destination properties `mode` requires that no entry sets, through objects some entries
// set parts of.
void find_unset_required(const types::type& object,
                         const std::string& prefix,
                         const std::set<std::string>& mapped,
                         bool create,
                         bool update,
                         std::vector<mapping_problem>& problems) {
    for (const types::property& q : object.properties()) {
        const std::string path = prefix.empty() ? q.name : prefix + "." + q.name;
        if (mapped.contains(path)) continue;
        const auto below = mapped.lower_bound(path + ".");
        if (below != mapped.end() && below->starts_with(path + ".")) {
            if (q.type.kind() == types::kind::object)
                find_unset_required(q.type, path, mapped, create, update, problems);
            continue;
        }
        if (create && q.create_required)
            problems.push_back({"", std::nullopt, types::severity::error,
                                "destination property \"" + path +
                                    "\" is required for creation, but the mapping does not set it"});
        else if (update && q.update_required)
            problems.push_back({"", std::nullopt, types::severity::error,
                                "destination property \"" + path +
                                    "\" is required for update, but the mapping does not set it"});
    }
}

}  // namespace

expected<expression, expression_error> parse_expression(std::string_view text) {
    auto root = parser(text).run();
    if (!root) return root.error();
    return detail::expression_access::make(std::move(root).value(), text);
}

expected<inferred_type, expression_error> check(const expression& e, const types::type& source_schema) {
    checker c(source_schema);
    inferred_type out;
    if (!c.infer(root_of(e), out)) return c.error_;
    return out;
}

std::vector<types::alignment_problem> check_assignment(const inferred_type& value,
                                                       const types::property& destination,
                                                       types::alignment_mode mode) {
    using types::severity;
    std::vector<types::alignment_problem> problems;
    if (!value.type.valid()) {
        if (!destination.nullable)
            problems.push_back(
                {"", severity::error, "is always null, but the destination property is not nullable"});
        return problems;
    }
    if (value.may_be_null && !destination.nullable)
        problems.push_back(
            {"", severity::warning, "may be null, but the destination property is not nullable"});
    const bool create =
        mode == types::alignment_mode::create_only || mode == types::alignment_mode::create_or_update;
    const bool update =
        mode == types::alignment_mode::update_only || mode == types::alignment_mode::create_or_update;
    if (value.may_be_missing && create && destination.create_required)
        problems.push_back({"", severity::warning,
                            "may have no value, but the destination property is required for creation"});
    else if (value.may_be_missing && update && destination.update_required)
        problems.push_back({"", severity::warning,
                            "may have no value, but the destination property is required for update"});
    auto aligned = types::check_alignment(value.type, destination.type, mode);
    problems.insert(problems.end(), std::make_move_iterator(aligned.begin()),
                    std::make_move_iterator(aligned.end()));
    return problems;
}

expected<mapping, std::vector<mapping_problem>> compile_mapping(std::span<const mapping_entry> entries) {
    std::vector<mapping_problem> problems;
    std::set<std::string> seen;
    mapping m;
    for (const mapping_entry& e : entries) {
        std::vector<std::string> path;
        if (!valid_destination(e.property, path)) {
            problems.push_back({e.property, std::nullopt, types::severity::error,
                                "is not a destination property name: names of letters, digits and _ "
                                "that do not start with a digit, joined by dots"});
            continue;
        }
        if (seen.contains(e.property)) {
            problems.push_back(
                {e.property, std::nullopt, types::severity::error, "is mapped more than once"});
            continue;
        }
        // "a" and "a.b" would both write a's value: refuse instead of picking one.
        std::string conflict;
        for (std::size_t dot = e.property.find('.'); dot != std::string::npos;
             dot = e.property.find('.', dot + 1))
            if (seen.contains(e.property.substr(0, dot))) conflict = e.property.substr(0, dot);
        if (const auto below = seen.lower_bound(e.property + ".");
            conflict.empty() && below != seen.end() && below->starts_with(e.property + "."))
            conflict = *below;
        if (!conflict.empty()) {
            problems.push_back({e.property, std::nullopt, types::severity::error,
                                "overlaps the mapped property \"" + conflict + "\""});
            continue;
        }
        seen.insert(e.property);
        auto parsed = parse_expression(e.expression);
        if (!parsed) {
            problems.push_back(
                {e.property, parsed.error().offset, types::severity::error, parsed.error().message});
            continue;
        }
        m.entries_.push_back({e.property, std::move(path), std::move(parsed).value()});
    }
    if (!problems.empty()) return problems;
    return m;
}

std::vector<mapping_problem> check_mapping(const mapping& m,
                                           const types::type& source,
                                           const types::type& destination,
                                           types::alignment_mode mode) {
    std::vector<mapping_problem> problems;
    if (m.identity()) {
        if (source.valid() && destination.valid())
            for (const auto& p : types::check_alignment(source, destination, mode))
                problems.push_back({"", std::nullopt, p.level, sub_path_message(p)});
        return problems;
    }
    for (const mapping::entry& e : m.entries()) {
        const auto inferred = check(e.value, source);
        if (!inferred) {
            problems.push_back(
                {e.property, inferred.error().offset, types::severity::error, inferred.error().message});
            continue;
        }
        if (!destination.valid()) continue;
        const auto property = find_destination(destination, e.path);
        if (!property) {
            problems.push_back({e.property, std::nullopt, types::severity::error,
                                "is not a property of the destination schema"});
            continue;
        }
        for (const auto& p : check_assignment(*inferred, *property, mode))
            problems.push_back({e.property, 0, p.level, sub_path_message(p)});
    }
    if (mode != types::alignment_mode::read && destination.kind() == types::kind::object) {
        std::set<std::string> mapped;
        for (const mapping::entry& e : m.entries()) mapped.insert(e.property);
        const bool create = mode != types::alignment_mode::update_only;
        const bool update = mode != types::alignment_mode::create_only;
        find_unset_required(destination, "", mapped, create, update, problems);
    }
    return problems;
}

types::result<std::optional<json::value>> evaluate(const expression& e, const json::object& record) {
    evaluator ev(record);
    operand out;
    if (!ev.eval(root_of(e), out)) return types::unexpected{ev.error()};
    if (!out.ptr) return std::optional<json::value>{};
    if (!out.borrowed()) return std::optional<json::value>{std::move(out.owned)};
    return std::optional<json::value>{*out.ptr};
}

mapped_record apply(const mapping& m, const json::object& record) {
    mapped_record result;
    if (m.identity()) {
        result.out = record;
        return result;
    }
    result.out.reserve(m.entries().size());
    evaluator ev(record);
    for (const mapping::entry& e : m.entries()) {
        operand v;
        if (!ev.eval(root_of(e.value), v)) {
            result.errors.push_back({e.property, "cannot be computed: " + ev.error()});
            continue;
        }
        if (!v.ptr) continue;
        json::object* target = &result.out;
        for (std::size_t i = 0; i + 1 < e.path.size(); ++i) {
            json::value& child = (*target)[e.path[i]];
            if (!child.is_object()) child.emplace_object();
            target = &child.get_object();
        }
        json::value& slot = (*target)[e.path.back()];
        if (v.borrowed())
            slot = *v.ptr;
        else
            slot = std::move(v.owned);
    }
    return result;
}

}  // namespace tributary::mapping
