#include "config/interpolate.hpp"

#include <cstdlib>
#include <vector>

#include "config/read_file.hpp"

namespace tributary::config {

namespace {

constexpr std::string_view schemes_help = "use ${env:NAME}, ${file:PATH} or ${cred:NAME}";

bool valid_env_name(std::string_view name) {
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

std::string strip_one_newline(std::string s) {
    if (!s.empty() && s.back() == '\n') {
        s.pop_back();
        if (!s.empty() && s.back() == '\r') s.pop_back();
    }
    return s;
}

// What is wrong with one `${scheme:arg}` reference as written (naming `reference`), if anything.
std::optional<std::string> check_reference(std::string_view reference,
                                           std::string_view scheme,
                                           std::string_view arg) {
    const std::string ref(reference);
    if (scheme == "env") {
        if (!valid_env_name(arg)) return ref + ": invalid environment variable name";
        return std::nullopt;
    }
    if (scheme == "file") {
        if (arg.empty()) return ref + ": a path is required";
        return std::nullopt;
    }
    if (scheme == "cred") {
        if (arg.empty() || arg == "." || arg == ".." || arg.find('/') != std::string_view::npos) {
            return ref + ": a credential name is a file name, without /";
        }
        return std::nullopt;
    }
    return "unknown reference scheme \"" + std::string(scheme) + "\"; " + std::string(schemes_help);
}

// One well-formed `${scheme:arg}` reference: its value, or why not (naming `reference`, never a
// value).
parse_result<std::string> resolve(std::string_view reference,
                                  std::string_view scheme,
                                  std::string_view arg,
                                  const environment& env) {
    const std::string ref(reference);
    if (scheme == "env") {
        std::optional<std::string> v;
        if (env.getenv) v = env.getenv(std::string(arg));
        if (!v) return parse_error{"environment variable " + std::string(arg) + " is not set"};
        return std::move(*v);
    }
    if (scheme == "file") {
        std::filesystem::path p(arg);
        if (p.is_relative() && !env.base_dir.empty()) p = env.base_dir / p;
        auto content = detail::read_file(p.lexically_normal(), max_reference_file_bytes);
        if (!content) return parse_error{ref + ": " + content.error()};
        return strip_one_newline(std::move(content).value());
    }
    // "cred", the only other scheme check_reference() lets through.
    if (!env.credentials_dir) {
        return parse_error{ref +
                           ": $CREDENTIALS_DIRECTORY is unset (credentials come from systemd "
                           "LoadCredential= or SetCredential=)"};
    }
    auto content = detail::read_file(*env.credentials_dir / arg, max_reference_file_bytes);
    if (!content) return parse_error{ref + ": " + content.error()};
    return strip_one_newline(std::move(content).value());
}

}  // namespace

environment environment::from_process(std::filesystem::path base_dir) {
    environment env;
    env.getenv = [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    };
    env.base_dir = std::move(base_dir);
    if (const char* c = std::getenv("CREDENTIALS_DIRECTORY"); c && *c) env.credentials_dir = c;
    return env;
}

parse_result<interpolated> interpolate(std::string_view text, const environment& env, reference_mode mode) {
    interpolated out;
    std::vector<std::string> errors;
    std::size_t i = 0;
    while (i < text.size()) {
        auto dollar = text.find('$', i);
        if (dollar == std::string_view::npos) {
            out.value.append(text.substr(i));
            break;
        }
        out.value.append(text.substr(i, dollar - i));
        if (text.substr(dollar, 3) == "$${") {
            out.value += "${";
            i = dollar + 3;
            continue;
        }
        if (text.substr(dollar, 2) != "${") {
            out.value += '$';
            i = dollar + 1;
            continue;
        }
        auto close = text.find('}', dollar + 2);
        if (close == std::string_view::npos) {
            errors.push_back("unterminated ${ (write $${ for a literal ${)");
            break;
        }
        auto reference = text.substr(dollar, close + 1 - dollar);
        auto body = text.substr(dollar + 2, close - dollar - 2);
        i = close + 1;
        auto colon = body.find(':');
        if (colon == std::string_view::npos) {
            errors.push_back(std::string(reference) + ": a reference needs a scheme; " +
                             std::string(schemes_help) + " (write $${ for a literal ${)");
            continue;
        }
        const auto scheme = body.substr(0, colon);
        const auto arg = body.substr(colon + 1);
        if (auto wrong = check_reference(reference, scheme, arg)) {
            errors.push_back(std::move(*wrong));
            continue;
        }
        out.secret = true;
        if (mode == reference_mode::check_only) {
            out.unresolved = true;
            continue;
        }
        auto v = resolve(reference, scheme, arg, env);
        if (!v) {
            errors.push_back(v.error());
            continue;
        }
        out.value += *v;
    }
    if (!errors.empty()) {
        std::string joined;
        for (const auto& e : errors) joined += (joined.empty() ? "" : "; ") + e;
        return parse_error{std::move(joined)};
    }
    return out;
}

}  // namespace tributary::config
