#include "daemon/control_protocol.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>

namespace tributary::daemon {

namespace {

namespace json = boost::json;

constexpr std::int64_t max_pause_ms = std::int64_t{366} * 24 * 3600 * 1000;

std::optional<control_command> command_of(std::string_view s) {
    if (s == "status") return control_command::status;
    if (s == "trigger") return control_command::trigger;
    if (s == "pause") return control_command::pause;
    if (s == "resume") return control_command::resume;
    if (s == "reload") return control_command::reload;
    if (s == "dlq_drop") return control_command::dlq_drop;
    if (s == "dlq_replay") return control_command::dlq_replay;
    if (s == "state_rewind") return control_command::state_rewind;
    return std::nullopt;
}

bool takes_job(control_command c) {
    return c == control_command::trigger || c == control_command::pause || c == control_command::resume ||
           c == control_command::dlq_drop || c == control_command::dlq_replay ||
           c == control_command::state_rewind;
}

bool takes_state_dir(control_command c) {
    return c == control_command::dlq_drop || c == control_command::dlq_replay ||
           c == control_command::state_rewind;
}

bool takes_items(control_command c) {
    return c == control_command::dlq_drop || c == control_command::dlq_replay;
}

result<json::value> parse_limited(std::string_view line, std::size_t max) {
    if (line.size() > max) return unexpected{"longer than " + std::to_string(max) + " bytes"};
    json::parse_options opt;
    opt.max_depth = 8;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec, {}, opt);
    if (ec) return unexpected{"not JSON: " + ec.message()};
    return v;
}

}  // namespace

std::string_view command_name(control_command c) {
    switch (c) {
        case control_command::status:
            return "status";
        case control_command::trigger:
            return "trigger";
        case control_command::pause:
            return "pause";
        case control_command::resume:
            return "resume";
        case control_command::reload:
            return "reload";
        case control_command::dlq_drop:
            return "dlq_drop";
        case control_command::dlq_replay:
            return "dlq_replay";
        case control_command::state_rewind:
            return "state_rewind";
    }
    return "?";
}

result<control_request> parse_control_request(std::string_view line) {
    auto v = parse_limited(line, max_control_request);
    if (!v) return unexpected{"request " + v.error()};
    if (!v->is_object()) return unexpected{std::string("request must be a JSON object")};
    const auto& o = v->as_object();
    control_request r;
    const auto* c = o.if_contains("command");
    if (!c || !c->is_string()) return unexpected{std::string("request needs \"command\" (a string)")};
    auto cmd = command_of(c->as_string());
    if (!cmd) {
        return unexpected{"unknown command \"" + std::string(c->as_string().subview().substr(0, 40)) +
                          "\" (status, trigger, pause, resume, reload, dlq_drop, dlq_replay, state_rewind)"};
    }
    r.command = *cmd;
    for (const auto& kv : o) {
        const std::string_view key = kv.key();
        const bool known =
            key == "command" || (key == "job" && takes_job(r.command)) ||
            (key == "for_ms" && r.command == control_command::pause) ||
            (key == "items" && takes_items(r.command)) ||
            (key == "all" && r.command == control_command::dlq_replay) ||
            ((key == "to_us" || key == "mark") && r.command == control_command::state_rewind) ||
            (key == "state_dir" && takes_state_dir(r.command)) ||
            (key == "force" && r.command == control_command::reload);
        if (!known) {
            return unexpected{"unexpected key \"" + std::string(key.substr(0, 40)) + "\" for " +
                              std::string(command_name(r.command))};
        }
    }
    if (takes_job(r.command)) {
        const auto* j = o.if_contains("job");
        if (!j || !j->is_string() || j->as_string().empty())
            return unexpected{std::string(command_name(r.command)) + " needs \"job\" (a job name)"};
        r.job = std::string(j->as_string());
    }
    if (const auto* a = o.if_contains("all")) {
        if (!a->is_bool()) return unexpected{std::string("\"all\" must be true or false")};
        r.all = a->as_bool();
    }
    if (r.all && o.contains("items"))
        return unexpected{std::string("dlq_replay takes \"items\" or \"all\", not both")};
    if (takes_items(r.command) && !r.all) {
        const auto* items = o.if_contains("items");
        if (!items || !items->is_array() || items->as_array().empty() || items->as_array().size() > 1000)
            return unexpected{std::string(command_name(r.command)) + " needs \"items\": 1 to 1000 item ids" +
                              (r.command == control_command::dlq_replay ? " (or \"all\":true)" : "")};
        for (const auto& i : items->as_array()) {
            if (!i.is_string() || i.as_string().empty())
                return unexpected{std::string("\"items\" must hold non-empty strings")};
            r.items.emplace_back(i.as_string());
        }
    }
    if (const auto* f = o.if_contains("force")) {
        if (!f->is_bool()) return unexpected{std::string("\"force\" must be true or false")};
        r.force = f->as_bool();
    }
    if (const auto* d = o.if_contains("state_dir")) {
        if (!d->is_string()) return unexpected{std::string("\"state_dir\" must be a string")};
        r.state_dir = std::string(d->as_string());
    }
    if (r.command == control_command::state_rewind) {
        const auto* t = o.if_contains("to_us");
        if (!t || !t->is_int64() || t->as_int64() < 0)
            return unexpected{std::string("state_rewind needs \"to_us\" (Unix microseconds, 0 or more)")};
        r.to_us = t->as_int64();
        if (const auto* m = o.if_contains("mark")) {
            if (!m->is_bool()) return unexpected{std::string("\"mark\" must be true or false")};
            r.mark = m->as_bool();
        }
    }
    if (const auto* f = o.if_contains("for_ms")) {
        if (!f->is_int64() || f->as_int64() < 1 || f->as_int64() > max_pause_ms)
            return unexpected{std::string("\"for_ms\" must be an integer from 1 to a year in ms")};
        r.pause_for = std::chrono::milliseconds{f->as_int64()};
    }
    return r;
}

std::string encode_control_request(const control_request& r) {
    json::object o;
    o["command"] = command_name(r.command);
    if (takes_job(r.command)) o["job"] = r.job;
    if (r.command == control_command::pause && r.pause_for) o["for_ms"] = r.pause_for->count();
    if (r.command == control_command::state_rewind) {
        o["to_us"] = r.to_us;
        o["mark"] = r.mark;
    }
    if (takes_state_dir(r.command) && !r.state_dir.empty()) o["state_dir"] = r.state_dir;
    if (r.command == control_command::reload && r.force) o["force"] = true;
    if (r.command == control_command::dlq_replay && r.all) {
        o["all"] = true;
    } else if (takes_items(r.command)) {
        json::array items;
        for (const auto& i : r.items) items.emplace_back(i);
        o["items"] = std::move(items);
    }
    return json::serialize(o) + "\n";
}

std::string control_ok(json::object fields) {
    json::object o;
    o["ok"] = true;
    for (auto& kv : fields) o[kv.key()] = std::move(kv.value());
    return json::serialize(o) + "\n";
}

std::string control_error(std::string_view message, json::object fields) {
    json::object o;
    o["ok"] = false;
    o["error"] = message;
    for (auto& kv : fields) o[kv.key()] = std::move(kv.value());
    return json::serialize(o) + "\n";
}

result<json::object> parse_control_reply(std::string_view line) {
    auto v = parse_limited(line, max_control_reply);
    if (!v) return unexpected{"reply " + v.error()};
    if (!v->is_object()) return unexpected{std::string("reply is not a JSON object")};
    auto& o = v->as_object();
    const auto* ok = o.if_contains("ok");
    if (!ok || !ok->is_bool()) return unexpected{std::string("reply has no \"ok\"")};
    return std::move(o);
}

}  // namespace tributary::daemon
