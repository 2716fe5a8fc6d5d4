// `plan` (pipelines/users_plan.hpp): it writes nothing — store and destination file byte for
// byte — reads from where the next run would, respects its sample, offers due dead letters
// first, previews the batches, and decides exactly as the run then does.

#include "pipelines/users_plan.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <iterator>

#include "pipelines/checkpoint.hpp"
#include "tests/integration/pipelines/users_job_fixture.hpp"

using namespace users_job_testing;
using tributary::pipelines::plan_report;
using tributary::pipelines::run_report;
using tributary::pipelines::users_job_settings;

namespace {

std::string file_bytes(const fs::path& p) {
    std::ifstream in{p, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

class users_plan_test : public users_job_fixture {
protected:
    plan_report plan(users_job_settings s, connector& source, connector& destination, std::size_t sample) {
        return wait(pipelines::plan_users_job(std::move(s), source, destination, *store_, sample, logger_));
    }

    run_report run_cancelled_after(int calls, users_job_settings s, connector& source, connector& inner) {
        hooked_destination destination{inner};
        asio::cancellation_signal signal;
        destination.after_call = [&](int n) {
            if (n == calls) asio::post(io_, [&] { signal.emit(asio::cancellation_type::terminal); });
        };
        std::optional<run_report> out;
        asio::co_spawn(io_, pipelines::run_users_job(std::move(s), source, destination, *store_, logger_),
                       asio::bind_cancellation_slot(
                           signal.slot(), [&](std::exception_ptr, run_report r) { out = std::move(r); }));
        io_.restart();
        io_.run();
        return std::move(*out);
    }

    // Everything the store holds for job "users" that a plan could touch, as text.
    std::string store_snapshot(const std::vector<std::string>& keys) {
        std::string out;
        if (auto cp = wait(store_->load_checkpoint("users")))
            out += "cp " + std::to_string(cp->low_water_mark_us) + " " + cp->cursor + " " +
                   std::to_string(cp->cursor_saved_at_us) + " " + std::to_string(cp->saved_at_us) + "\n";
        for (const auto& h : wait(store_->checkpoint_history("users", 1000)))
            out += "history " + std::to_string(h.low_water_mark_us) + " " + h.cursor + "\n";
        for (const auto& r : wait(store_->recent_runs("users", 1000)))
            out += "run " + std::to_string(r.id) + " " + std::string{state::to_string(r.status)} + "\n";
        for (const auto& d : wait(store_->dead_letters("users", 100000)))
            out += "dlq " + d.item_id + " " + std::to_string(d.attempts) + " " + d.reason + " " +
                   d.payload_json + "\n";
        std::vector<state::overlap_id> ids;
        for (int i = 1; i <= 2000; ++i) ids.push_back({user_id(i), 0});
        for (bool b : wait(store_->filter_acknowledged("users", ids))) out += b ? '1' : '0';
        out += "\n";
        for (const auto& [k, v] : wait(store_->get_matches("users", keys)))
            out += "match " + k + " " + v + "\n";
        out += "meta " + wait(store_->meta(pipelines::match_mark_key("users"))).value_or("-") + "\n";
        return out;
    }

    // The state directory's files, except the shared-memory index that readers update.
    std::map<std::string, std::string> state_files() const {
        std::map<std::string, std::string> out;
        for (const auto& e : fs::directory_iterator(dir_.path() / "state")) {
            const auto name = e.path().filename().string();
            if (e.is_regular_file() && !name.ends_with("-shm")) out[name] = file_bytes(e.path());
        }
        return out;
    }
};

TEST_F(users_plan_test, Plan_WritesNothing_StoreAndDestinationFileUnchanged) {
    // A store with everything in it: a cancelled run matching on company leaves a checkpoint with
    // a cursor, overlap ids, dead letters (null companies), a lookup table and its mark.
    auto s = settings();
    s.match = pipelines::match_rule{"company", "company"};
    auto source = make_source();
    auto destination = make_jsonl();
    auto first = run_cancelled_after(4, s, *source, *destination);
    ASSERT_EQ(first.status, state::run_status::cancelled) << first.error;
    ASSERT_GT(first.rejected, 0u);

    const dummy::generator gen{dummy::generator_settings{
        .count = 2000, .page_size = 100, .tie_groups = 150, .late_records = true, .duplicate_pages = true}};
    std::vector<std::string> companies;
    for (std::uint64_t i = 0; i < 2000; ++i) {
        const auto u = gen.user(i);
        if (u.properties.at("company").is_string())
            companies.emplace_back(u.properties.at("company").as_string());
    }
    const std::string store_before = store_snapshot(companies);
    ASSERT_NE(store_before.find("match "), std::string::npos);
    ASSERT_NE(store_before.find("dlq "), std::string::npos);
    const auto files_before = state_files();
    const std::string output_before = file_bytes(output());
    const auto output_time = fs::last_write_time(output());

    auto plan_source = make_source();
    auto plan_destination = make_jsonl();
    auto report = plan(s, *plan_source, *plan_destination, 300);
    EXPECT_EQ(report.error, "");
    EXPECT_EQ(report.read, 300u);
    EXPECT_GT(report.items.size(), 300u);  // dead letters first, then the sample
    EXPECT_FALSE(report.preview_supported);
    EXPECT_TRUE(report.requests.empty());
    EXPECT_FALSE(report.notes.empty());
    EXPECT_EQ(report.create + report.update + report.skip + report.reject, report.items.size());

    EXPECT_EQ(store_snapshot(companies), store_before);
    EXPECT_EQ(state_files(), files_before);
    EXPECT_EQ(file_bytes(output()), output_before);
    EXPECT_EQ(fs::last_write_time(output()), output_time);
    EXPECT_EQ(log_count("plan.done"), 1u);
}

types::type email_schema() {
    return types::make_object({{.name = "id", .type = types::make_string().value()},
                               {.name = "email", .type = types::make_string().value(), .nullable = true}})
        .value();
}

TEST_F(users_plan_test, Plan_DecidesExactlyAsTheRunThenDoes) {
    // 40 users: every 7th has no email, users 30.. repeat the emails of users 0.., emails 1 and 2
    // belong to destination users d-1 and d-2 already, and the vendor refuses e13.
    memory_source source{email_schema()};
    for (int i = 0; i < 40; ++i) {
        record r;
        r.id = "s-" + std::to_string(i);
        r.updated_at = at_us(1'700'000'000'000'000 + i * 1000);
        json::object p{{"id", r.id}};
        if (i % 7 == 3)
            p["email"] = nullptr;
        else
            p["email"] = "e" + std::to_string(i >= 30 ? i - 30 : i);
        r.properties = std::move(p);
        source.data.push_back(std::move(r));
    }
    wait(store_->put_matches("users", {{"e1", "d-1"}, {"e2", "d-2"}}));
    memory_destination destination;
    destination.schema = email_schema();
    destination.preview = true;
    destination.take = 4;
    destination.refuse = [](const record& r) { return r.properties.at("email") == "e13"; };
    auto s = settings();
    s.max_items = 8;
    s.match = pipelines::match_rule{"email", "email"};

    auto p = plan(s, source, destination, 100);
    ASSERT_EQ(p.error, "");
    EXPECT_EQ(p.read, 40u);
    EXPECT_TRUE(p.preview_supported);
    EXPECT_EQ(static_cast<int>(p.requests.size()), destination.previews);
    EXPECT_EQ(destination.calls, 0);  // previews only
    // The requests carry every create and update that has an id to show, at most 4 per call.
    std::size_t lines = 0;
    for (const auto& req : p.requests) {
        const auto n = static_cast<std::size_t>(std::count(req.body.begin(), req.body.end(), '\n'));
        EXPECT_LE(n, 4u);
        lines += n;
    }
    std::size_t previewable = 0;
    for (const auto& item : p.items)
        if ((item.action == "create" || item.action == "update") &&
            item.reason.find("not previewed") == std::string::npos)
            ++previewable;
    EXPECT_EQ(lines, previewable);

    auto r = run(s, source, destination);
    ASSERT_NE(r.status, state::run_status::failed) << r.error;

    // What the run did, by source id: dead letters, and by email the writes.
    std::map<std::string, std::string> run_action;
    for (const auto& d : wait(store_->dead_letters("users", 100))) run_action[d.item_id] = "reject";
    std::map<std::string, std::string> email_of;
    for (const auto& rec : source.data)
        if (rec.properties.at("email").is_string())
            email_of[rec.id] = std::string{rec.properties.at("email").as_string()};
    std::multiset<std::string> run_creates, run_updates;
    for (const auto& rec : destination.received) {
        const std::string email{rec.properties.at("email").as_string()};
        (rec.id.empty() ? run_creates : run_updates).insert(email);
    }
    std::multiset<std::string> plan_creates, plan_updates;
    for (const auto& item : p.items) {
        if (item.action == "reject") {
            EXPECT_EQ(run_action[item.source_id], "reject") << item.source_id << ": " << item.reason;
        } else if (item.action == "create") {
            plan_creates.insert(email_of.at(item.source_id));
        } else if (item.action == "update") {
            plan_updates.insert(email_of.at(item.source_id));
        }
    }
    EXPECT_EQ(plan_creates, run_creates);
    EXPECT_EQ(plan_updates, run_updates);
    EXPECT_EQ(p.reject, r.rejected);
    EXPECT_EQ(p.create + p.update, r.written);
    EXPECT_EQ(p.reject, 7u);                  // 6 without an email, e13 refused
    EXPECT_EQ(plan_updates.count("e1"), 1u);  // d-1
    EXPECT_EQ(plan_updates.count("e2"), 2u);  // d-2, by users 2 and 32
    EXPECT_EQ(plan_creates.count("e5"), 1u);  // user 5 creates it ...
    EXPECT_EQ(plan_updates.count("e5"), 1u);  // ... and user 35 updates it
    EXPECT_EQ(plan_creates.count("e3"), 1u);  // user 3 has no email: user 33 creates e3
}

TEST_F(users_plan_test, Plan_AfterAFullRun_SampleIsBoundedAndAlreadySynchronized) {
    auto source = make_source();
    auto destination = make_jsonl();
    ASSERT_EQ(run(settings(), *source, *destination).status, state::run_status::succeeded);

    auto again = make_source();
    auto p = plan(settings(), *again, *destination, 50);
    EXPECT_EQ(p.error, "");
    EXPECT_EQ(p.read, 50u);
    EXPECT_EQ(p.items.size(), 50u);
    EXPECT_EQ(p.skip, 50u);
    EXPECT_EQ(p.items[0].reason, "already synchronized");
}

TEST_F(users_plan_test, Plan_ReadsFromTheStoredCursorLikeTheNextRun) {
    auto source = make_source();
    auto destination = make_jsonl();
    auto first = run_cancelled_after(3, settings(), *source, *destination);
    ASSERT_EQ(first.status, state::run_status::cancelled);
    const auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    const auto stored = pipelines::decode_cursor(cp->cursor);
    ASSERT_TRUE(stored.has_value());

    auto inner = make_source();
    hooked_source plan_source{*inner};
    auto p = plan(settings(), plan_source, *destination, 10);
    EXPECT_EQ(p.error, "");
    ASSERT_FALSE(plan_source.calls.empty());
    EXPECT_EQ(plan_source.calls[0].cursor, stored->cursor);
    EXPECT_EQ(plan_source.calls[0].since_us, stored->since_us);
    EXPECT_EQ(p.read, 10u);
}

TEST_F(users_plan_test, Plan_DueDeadLettersComeFirstAndStayDue) {
    auto source = make_source();
    memory_destination destination;
    destination.refuse = [](const record& r) { return r.id.back() == '7'; };
    ASSERT_EQ(run(settings(), *source, destination).rejected, 200u);

    destination.refuse = {};
    const int calls_before = destination.calls;
    auto again = make_source();
    auto p = plan(settings(), *again, destination, 20);
    EXPECT_EQ(p.error, "");
    ASSERT_EQ(p.items.size(), 40u);  // 20 dead letters, 20 records read
    for (std::size_t i = 0; i < 20; ++i) {
        EXPECT_TRUE(p.items[i].dead_letter_retry);
        EXPECT_EQ(p.items[i].action, "update");  // upsert by id
        EXPECT_EQ(p.items[i].destination_id, p.items[i].source_id);
    }
    EXPECT_FALSE(p.items[20].dead_letter_retry);
    for (const auto& d : wait(store_->dead_letters("users", 1000))) EXPECT_EQ(d.attempts, 1u);
    EXPECT_EQ(destination.calls, calls_before);
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 200u);
}

TEST_F(users_plan_test, Plan_BadMapping_IsAnErrorNotACrash) {
    auto source = make_source();
    auto destination = make_jsonl();
    auto s = settings();
    s.mapping = {{"email", "lowr(email)"}};
    auto p = plan(s, *source, *destination, 10);
    EXPECT_NE(p.error.find("invalid mapping"), std::string::npos) << p.error;
    EXPECT_TRUE(p.items.empty());
    EXPECT_FALSE(fs::exists(output()));
}

}  // namespace
