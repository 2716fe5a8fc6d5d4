// The users job end to end on local connectors: dummy (ties, late records, duplicate pages) →
// jsonl on a temp dir, with a real sqlite_store on a real storage thread. Covers delivery of
// every id, counts, checkpoints saved during the run, a second run over the same data, a
// cancelled run resumed, destination rejections to the dead-letter store (exit code 3),
// postponed items, retryable failures with backoff, and a run that fails for good; page cursor
// reuse (fresh, stale, refused); dead letters offered again (success, refusal, bound, expiry,
// obsolete versions, a changed mapping); matching (lookup table with creates reported by jsonl,
// refresh from the destination in update and create modes, native matching); source order specs.

#include "pipelines/users_job.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include "connectors/dummy/dummy_connector.hpp"
#include "connectors/jsonl/jsonl_connector.hpp"
#include "connectors/jsonl/line_format.hpp"
#include "connectors/sdk/checked_calls.hpp"
#include "pipelines/checkpoint.hpp"
#include "pipelines/users_transform.hpp"
#include "tests/integration/pipelines/users_job_fixture.hpp"

using namespace users_job_testing;
using tributary::pipelines::run_report;
using tributary::pipelines::users_job_settings;

namespace {

class users_job_test : public users_job_fixture {
protected:
    // Runs the job and cancels it after the destination's `calls`-th upsert call.
    run_report run_cancelled_after(int calls,
                                   users_job_settings s,
                                   connector& source,
                                   connector& inner_destination,
                                   const tributary::clock& clk = real_clock::instance()) {
        hooked_destination destination{inner_destination};
        asio::cancellation_signal signal;
        destination.after_call = [&](int n) {
            if (n == calls) asio::post(io_, [&] { signal.emit(asio::cancellation_type::terminal); });
        };
        std::optional<run_report> out;
        std::exception_ptr error;
        asio::co_spawn(io_,
                       pipelines::run_users_job(std::move(s), source, destination, *store_, logger_, clk),
                       asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, run_report r) {
                           error = e;
                           out = std::move(r);
                       }));
        io_.restart();
        io_.run();
        if (error) std::rethrow_exception(error);
        return std::move(*out);
    }

    static bool ends_with_7(const record& r) { return !r.id.empty() && r.id.back() == '7'; }

    static users_job_settings matching_on(std::string source,
                                          std::string destination,
                                          pipelines::write_mode mode) {
        auto s = settings();
        s.match = pipelines::match_rule{std::move(source), std::move(destination)};
        s.mode = mode;
        return s;
    }

    // Writes destination lines for `n` users of the source's dataset (every tenth one): id
    // "crm-<i>", their properties.
    static void write_existing(const fs::path& file, int n) {
        const dummy::generator gen{source_data()};
        std::ofstream out{file};
        for (int i = 0; i < n; ++i) {
            const auto u = gen.user(static_cast<std::uint64_t>(i) * 10);
            out << jsonl::user_line("crm-" + std::to_string(i), u.properties, 1'700'000'000'000'000) << '\n';
        }
    }

    static dummy::generator_settings source_data(std::uint32_t run = 0) {
        dummy::generator_settings g;
        g.count = 2000;
        g.page_size = 100;
        g.tie_groups = 150;
        g.late_records = true;
        g.duplicate_pages = true;
        g.run = run;
        return g;
    }
};

TEST_F(users_job_test, DummyToJsonl_FirstRun_DeliversEveryIdAndSavesCheckpoints) {
    auto source = make_source();
    auto destination = make_jsonl();
    auto r = run(settings(), *source, *destination);

    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    EXPECT_EQ(pipelines::once_exit_code(r), 0);
    EXPECT_EQ(r.written, 2000u);
    EXPECT_EQ(r.rejected, 0u);
    EXPECT_GT(r.read, 2000u);  // duplicate pages
    EXPECT_EQ(r.read, r.written + r.skipped);
    EXPECT_EQ(output_ids(), expected_ids());
    EXPECT_EQ(output_lines(), 2000u);

    auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    EXPECT_EQ(cp->low_water_mark_us, r.low_water_mark_us);
    EXPECT_GT(cp->low_water_mark_us, 0);
    EXPECT_EQ(cp->run_id, r.run_id);
    // Saved during the run, with the mark moving forward (ascending source).
    auto history = wait(store_->checkpoint_history("users", 100));
    ASSERT_GE(history.size(), 3u);
    EXPECT_LT(history.back().low_water_mark_us, history.front().low_water_mark_us);

    auto runs = wait(store_->recent_runs("users", 1));
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, state::run_status::succeeded);
    EXPECT_EQ(runs[0].counts, (state::run_counts{r.read, r.written, r.rejected, r.skipped}));
    EXPECT_EQ(log_count("job.start"), 1u);
    EXPECT_EQ(log_count("job.done"), 1u);
    EXPECT_GE(log_count("job.progress"), 3u);
}

TEST_F(users_job_test, DummyToJsonl_SecondRunSameData_WritesNothing) {
    auto source = make_source();
    auto destination = make_jsonl();
    auto first = run(settings(), *source, *destination);
    ASSERT_EQ(first.status, state::run_status::succeeded) << first.error;

    auto again = make_source();
    auto second = run(settings(), *again, *destination);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    EXPECT_GT(second.read, 0u);          // the lookback window is read again ...
    EXPECT_LT(second.read, first.read);  // ... but not the whole dataset
    EXPECT_EQ(second.written, 0u);
    EXPECT_EQ(second.skipped, second.read);
    EXPECT_EQ(output_lines(), 2000u);
    EXPECT_GE(second.low_water_mark_us, first.low_water_mark_us);
}

TEST_F(users_job_test, DummyToJsonl_CancelledMidwayThenResumed_DeliversEverything) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    hooked_destination destination{*jsonl_dest};
    asio::cancellation_signal signal;
    destination.after_call = [&](int calls) {
        if (calls == 3) asio::post(io_, [&] { signal.emit(asio::cancellation_type::terminal); });
    };

    std::optional<run_report> first;
    std::exception_ptr error;
    asio::co_spawn(io_, pipelines::run_users_job(settings(), *source, destination, *store_, logger_),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, run_report r) {
                       error = e;
                       first = std::move(r);
                   }));
    io_.restart();
    io_.run();
    ASSERT_FALSE(error);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->status, state::run_status::cancelled);
    EXPECT_EQ(pipelines::once_exit_code(*first), 1);
    EXPECT_GT(first->written, 0u);
    EXPECT_LT(first->written, 2000u);
    EXPECT_EQ(wait(store_->recent_runs("users", 1)).at(0).status, state::run_status::cancelled);

    auto again = make_source();
    destination.after_call = {};
    auto second = run(settings(), *again, destination);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    EXPECT_EQ(output_ids(), expected_ids());
    // Acknowledged versions are remembered: nothing already delivered is sent again.
    EXPECT_EQ(first->written + second.written, 2000u);
}

TEST_F(users_job_test, Rejections_GoToDeadLetters_RunIsPartial) {
    auto source = make_source();
    memory_destination destination;
    destination.refuse = ends_with_7;
    destination.take = 40;  // every call postpones the rest of its batch
    auto r = run(settings(), *source, destination);

    EXPECT_EQ(r.status, state::run_status::partial) << r.error;
    EXPECT_TRUE(r.partial);
    EXPECT_EQ(pipelines::once_exit_code(r), 3);
    EXPECT_EQ(r.rejected, 200u);
    EXPECT_EQ(r.written, 1800u);
    EXPECT_EQ(destination.writes.size(), 1800u);
    for (const auto& [id, n] : destination.writes) EXPECT_EQ(n, 1) << id;
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 200u);
    auto letters = wait(store_->dead_letters("users", 1));
    ASSERT_EQ(letters.size(), 1u);
    EXPECT_EQ(letters[0].reason, "refused by the fake vendor");
    EXPECT_NE(letters[0].payload_json.find("\"properties\""), std::string::npos);
    EXPECT_EQ(wait(store_->recent_runs("users", 1)).at(0).counts.rejected, 200u);
}

TEST_F(users_job_test, RetryableFailures_BackOffThenSucceed) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    hooked_destination destination{*jsonl_dest};
    destination.fail_first = 3;
    auto r = run(settings(), *source, destination);

    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    EXPECT_EQ(output_ids(), expected_ids());
    EXPECT_EQ(log_count("job.backoff"), 3u);
}

TEST_F(users_job_test, ExhaustedRetries_FailTheRunAndKeepTheCheckpoint) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    hooked_destination destination{*jsonl_dest};
    destination.always_fail = true;
    auto s = settings();
    s.max_attempts = 3;
    auto r = run(s, *source, destination);

    EXPECT_EQ(r.status, state::run_status::failed);
    EXPECT_NE(r.error.find("injected outage"), std::string::npos) << r.error;
    EXPECT_EQ(pipelines::once_exit_code(r), 1);
    EXPECT_EQ(r.written, 0u);
    EXPECT_EQ(destination.calls, 3);
    EXPECT_EQ(log_count("job.backoff"), 2u);
    // Nothing was acknowledged: the mark stays at or before the oldest record queued (the first
    // user is updated at 2025-01-01T00:00:00Z plus a sub-second jitter).
    auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    EXPECT_LE(cp->low_water_mark_us, 1735689601000000);
    EXPECT_EQ(r.low_water_mark_us, cp->low_water_mark_us);
    EXPECT_EQ(wait(store_->recent_runs("users", 1)).at(0).status, state::run_status::failed);
}

// ---- page cursors

TEST_F(users_job_test, Cursor_CancelledRun_StoresResumableCursorWithItsSince) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    auto first = run_cancelled_after(3, settings(), *source, *jsonl_dest);
    ASSERT_EQ(first.status, state::run_status::cancelled) << first.error;

    auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    EXPECT_TRUE(cp->cursor_resumable);
    EXPECT_GT(cp->cursor_saved_at_us, 0);
    auto decoded = pipelines::decode_cursor(cp->cursor);
    ASSERT_TRUE(decoded.has_value()) << cp->cursor;
    EXPECT_FALSE(decoded->since_us.has_value());  // the first run read everything
    EXPECT_FALSE(decoded->cursor.empty());
}

TEST_F(users_job_test, Cursor_NextRun_ResumesFromTheStoredCursor) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    auto first = run_cancelled_after(3, settings(), *source, *jsonl_dest);
    ASSERT_EQ(first.status, state::run_status::cancelled) << first.error;
    const auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    const auto stored = pipelines::decode_cursor(cp->cursor);
    ASSERT_TRUE(stored.has_value());

    auto again = make_source();
    hooked_source source2{*again};
    auto second = run(settings(), source2, *jsonl_dest);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    ASSERT_FALSE(source2.calls.empty());
    EXPECT_EQ(source2.calls[0].cursor, stored->cursor);
    EXPECT_EQ(source2.calls[0].since_us, stored->since_us);
    EXPECT_NE(last_log_line("job.start").find("\"from_cursor\":true"), std::string::npos);
    EXPECT_EQ(output_ids(), expected_ids());
    EXPECT_EQ(first.written + second.written, 2000u);
    EXPECT_LT(second.read, 2000u);  // the pages before the cursor were not read again
}

TEST_F(users_job_test, Cursor_Stale_ReadsFromMarkMinusLookback) {
    manual_clock clk;
    clk.set_wall(std::chrono::system_clock::now());
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    auto first = run_cancelled_after(3, settings(), *source, *jsonl_dest, clk);
    ASSERT_EQ(first.status, state::run_status::cancelled) << first.error;
    const auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    ASSERT_FALSE(cp->cursor.empty());

    clk.advance(std::chrono::hours{2});  // older than cursor_max_age (1 h)
    auto again = make_source();
    hooked_source source2{*again};
    auto second = run(settings(), source2, *jsonl_dest, clk);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    ASSERT_FALSE(source2.calls.empty());
    EXPECT_EQ(source2.calls[0].cursor, "");
    EXPECT_EQ(source2.calls[0].since_us, pipelines::resume_point(cp->low_water_mark_us, settings().lookback));
    EXPECT_EQ(output_ids(), expected_ids());
}

TEST_F(users_job_test, Cursor_MaxAgeZero_NeverReused) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    auto s = settings();
    s.cursor_max_age = std::chrono::milliseconds{0};
    auto first = run_cancelled_after(3, s, *source, *jsonl_dest);
    ASSERT_EQ(first.status, state::run_status::cancelled) << first.error;

    auto again = make_source();
    hooked_source source2{*again};
    auto second = run(s, source2, *jsonl_dest);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    ASSERT_FALSE(source2.calls.empty());
    EXPECT_EQ(source2.calls[0].cursor, "");
    EXPECT_EQ(output_ids(), expected_ids());
}

TEST_F(users_job_test, Cursor_RefusedBySource_DiscardedOnceThenReadFromMark) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    auto first = run_cancelled_after(3, settings(), *source, *jsonl_dest);
    ASSERT_EQ(first.status, state::run_status::cancelled) << first.error;
    const auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    const auto stored = pipelines::decode_cursor(cp->cursor);
    ASSERT_TRUE(stored.has_value());

    auto again = make_source();
    hooked_source source2{*again};
    source2.on_call = [&](const std::string& cursor) -> std::optional<connector_error> {
        // Only the first call: reading again from the mark reaches the same position later.
        if (source2.calls.size() == 1 && cursor == stored->cursor)
            return make_error(error_kind::rejected, "cursor expired");
        return std::nullopt;
    };
    auto second = run(settings(), source2, *jsonl_dest);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    EXPECT_EQ(log_count("job.cursor_discarded"), 1u);
    EXPECT_EQ(log_count("job.backoff"), 0u);
    ASSERT_GE(source2.calls.size(), 2u);
    EXPECT_EQ(source2.calls[1].cursor, "");
    EXPECT_EQ(source2.calls[1].since_us, pipelines::resume_point(cp->low_water_mark_us, settings().lookback));
    EXPECT_EQ(output_ids(), expected_ids());
}

TEST_F(users_job_test, Cursor_ResumedReading_DoesNotResendRecordsBelowTheMarkWindow) {
    // Pages span more than the lookback. The first run resolves page 1 and e, f of page 2 (the
    // destination takes two records per call), then stops: the cursor points at page 2, whose e
    // and f are older than mark - lookback and thus no longer in the overlap set.
    memory_source source{dummy::user_schema()};
    source.page_size = 4;
    const dummy::generator gen{dummy::generator_settings{.count = 12}};
    for (std::uint64_t i = 0; i < 12; ++i) {
        auto u = gen.user(i);
        source.data.push_back(record{.id = u.id,
                                     .properties = std::move(u.properties),
                                     .updated_at = at_us((static_cast<std::int64_t>(i) + 1) * 100'000)});
    }
    memory_destination inner;
    inner.take = 2;
    auto s = settings();
    s.max_items = 4;
    s.lookback = std::chrono::milliseconds{1};
    s.max_in_flight = 1;  // the calls before the stop are counted in a sequential run
    auto first = run_cancelled_after(3, s, source, inner);
    ASSERT_EQ(first.status, state::run_status::cancelled) << first.error;
    const auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    ASSERT_EQ(pipelines::decode_cursor(cp->cursor).value_or(pipelines::stored_cursor{}).cursor, "4");
    ASSERT_EQ(cp->low_water_mark_us, 700'000);

    auto second = run(s, source, inner);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    EXPECT_EQ(inner.writes.size(), 12u);
    for (const auto& [id, n] : inner.writes) EXPECT_EQ(n, 1) << id;
}

// ---- source order in specs

TEST(UsersJobSpecs, SourceOrder_DummyAscendingJsonlUnordered) {
    const auto dummy_spec = dummy::dummy_spec();
    ASSERT_TRUE(dummy_spec.source.has_value());
    EXPECT_EQ(dummy_spec.source->order, connectors::source_order::ascending);
    const auto jsonl_spec = jsonl::jsonl_spec();
    ASSERT_TRUE(jsonl_spec.source.has_value());
    EXPECT_EQ(jsonl_spec.source->order, connectors::source_order::unordered);
    EXPECT_TRUE(jsonl_spec.destination->match_properties.empty());
    const auto j = to_json(dummy_spec);
    EXPECT_EQ(j.at("source").at("order"), "ascending");
    EXPECT_TRUE(to_json(jsonl_spec).at("destination").at("matchProperties").as_array().empty());
}

// ---- dead letters

TEST_F(users_job_test, DeadLetters_NextRunRetriesThem_SuccessClears) {
    auto source = make_source();
    memory_destination destination;
    destination.refuse = ends_with_7;
    auto first = run(settings(), *source, destination);
    ASSERT_EQ(first.rejected, 200u);

    destination.refuse = {};
    destination.writes.clear();
    auto again = make_source();
    auto second = run(settings(), *again, destination);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    EXPECT_EQ(second.retried, 200u);
    EXPECT_EQ(second.written, 200u);  // the source's records were all resolved by the first run
    EXPECT_EQ(second.rejected, 0u);
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 0u);
    EXPECT_EQ(destination.writes.size(), 200u);
    for (const auto& [id, n] : destination.writes) {
        EXPECT_EQ(id.back(), '7');
        EXPECT_EQ(n, 1) << id;
    }
    const std::string line = log_line("dlq.retry");
    EXPECT_NE(line.find("\"retried\":200"), std::string::npos) << line;
    EXPECT_EQ(line.find("u-0"), std::string::npos) << "no ids in logs";
}

TEST_F(users_job_test, Rejections_EveryRecordRefused_RunFailsExitOne) {
    auto source = make_source();
    memory_destination destination;
    destination.refuse = [](const record&) { return true; };
    auto r = run(settings(), *source, destination);

    EXPECT_EQ(r.status, state::run_status::failed) << r.error;
    EXPECT_EQ(pipelines::once_exit_code(r), 1);
    EXPECT_EQ(r.rejected, 2000u);
    EXPECT_EQ(r.written, 0u);
    EXPECT_EQ(r.error,
              "every record was refused (2000 dead-lettered; `tributary state show users` lists them)");
    // Nothing is lost: every record waits in the dead-letter store.
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 2000u);
}

TEST_F(users_job_test, Mapping_UnknownDestinationProperty_FailsBeforeReadingWithTheToldProblem) {
    auto s = settings();
    s.mapping = {{"email", "email"}, {"nickname", "first_name"}};
    s.describe_mapping_problem = [](const mapping::mapping_problem& p) {
        return "at " + p.property + ": " + p.message;
    };
    auto source = make_source();
    memory_destination destination;
    auto r = run(s, *source, destination);

    EXPECT_EQ(r.status, state::run_status::failed);
    EXPECT_EQ(r.read, 0u);
    EXPECT_EQ(destination.calls, 0);
    EXPECT_EQ(r.error.rfind("the mapping does not fit the connectors' schemas: at nickname: ", 0), 0u)
        << r.error;
}

TEST_F(users_job_test, DeadLetters_RefusedAgain_CountAttemptsUpToTheBound) {
    auto s = settings();
    s.dead_letter_max_attempts = 2;
    auto source = make_source();
    memory_destination destination;
    destination.refuse = ends_with_7;
    auto first = run(s, *source, destination);
    ASSERT_EQ(first.rejected, 200u);

    auto again = make_source();
    auto second = run(s, *again, destination);
    EXPECT_EQ(second.status, state::run_status::partial);
    EXPECT_EQ(second.retried, 200u);
    EXPECT_EQ(second.rejected, 200u);
    auto letters = wait(store_->dead_letters("users", 1000));
    ASSERT_EQ(letters.size(), 200u);
    for (const auto& d : letters) EXPECT_EQ(d.attempts, 2u);
    // The stored payload still runs the whole path: it is the record as the vendor refused it.
    EXPECT_NE(letters[0].payload_json.find("\"stage\":\"destination\""), std::string::npos);

    auto third_source = make_source();
    auto third = run(s, *third_source, destination);
    EXPECT_EQ(third.status, state::run_status::succeeded) << third.error;
    EXPECT_EQ(third.retried, 0u);
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 200u);
}

TEST_F(users_job_test, DeadLetters_OlderThanMaxAge_ExpireOnceAndStay) {
    auto source = make_source();
    memory_destination destination;
    destination.refuse = ends_with_7;
    auto first = run(settings(), *source, destination);
    ASSERT_EQ(first.rejected, 200u);

    // The store stamps failures with the real wall clock; the run sees one 8 days later.
    manual_clock later;
    later.set_wall(std::chrono::system_clock::now() + std::chrono::hours{8 * 24});
    destination.refuse = {};
    auto again = make_source();
    auto second = run(settings(), *again, destination, later);
    EXPECT_EQ(second.expired, 200u);
    EXPECT_EQ(second.retried, 0u);
    EXPECT_EQ(second.written, 0u);
    auto letters = wait(store_->dead_letters("users", 1000));
    ASSERT_EQ(letters.size(), 200u);
    for (const auto& d : letters) {
        EXPECT_EQ(d.reason, "expired");
        EXPECT_EQ(d.attempts, 2u);
    }

    auto third_source = make_source();
    auto third = run(settings(), *third_source, destination, later);
    EXPECT_EQ(third.expired, 0u);
    EXPECT_EQ(third.retried, 0u);
    for (const auto& d : wait(store_->dead_letters("users", 1000))) EXPECT_EQ(d.attempts, 2u);
}

TEST_F(users_job_test, DeadLetters_MaxAgeZero_NeverExpire) {
    auto s = settings();
    s.dead_letter_max_age = std::chrono::milliseconds{0};
    auto source = make_source();
    memory_destination destination;
    destination.refuse = ends_with_7;
    ASSERT_EQ(run(s, *source, destination).rejected, 200u);

    manual_clock later;
    later.set_wall(std::chrono::system_clock::now() + std::chrono::hours{365 * 24});
    destination.refuse = {};
    auto again = make_source();
    auto second = run(s, *again, destination, later);
    EXPECT_EQ(second.expired, 0u);
    EXPECT_EQ(second.retried, 200u);
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 0u);
}

types::type scored_schema(bool with_score) {
    std::vector<types::property> props{
        {.name = "id", .type = types::make_string().value()},
        {.name = "email", .type = types::make_string().value(), .nullable = true},
    };
    if (with_score) props.push_back({.name = "score_text", .type = types::make_string().value()});
    props.push_back({.name = "score", .type = types::make_int(64).value(), .read_optional = true});
    return types::make_object(std::move(props)).value();
}

TEST_F(users_job_test, DeadLetters_RefusedBeforeSending_RetryRunsTheWholePathWithTheCurrentMapping) {
    memory_source source{scored_schema(true)};
    for (int i = 0; i < 20; ++i) {
        record r;
        r.id = "m-" + std::to_string(i);
        r.updated_at = at_us(1'700'000'000'000'000 + i);
        r.properties = {{"id", r.id},
                        {"email", "user" + std::to_string(i) + "@example.com"},
                        {"score_text", i % 4 == 0 ? "x" : "12"}};
        source.data.push_back(std::move(r));
    }
    memory_destination destination;
    destination.schema = scored_schema(false);
    auto s = settings();
    s.mapping = {{"email", "email"}, {"score", "int(score_text)"}};
    auto first = run(s, source, destination);
    EXPECT_EQ(first.rejected, 5u);
    EXPECT_EQ(first.written, 15u);
    auto letters = wait(store_->dead_letters("users", 10));
    ASSERT_EQ(letters.size(), 5u);
    EXPECT_TRUE(letters[0].reason.starts_with("mapping: ")) << letters[0].reason;
    EXPECT_NE(letters[0].payload_json.find("\"stage\":\"source\""), std::string::npos);

    // The operator drops the failing property; the dead letters go through the new mapping.
    destination.received.clear();
    s.mapping = {{"email", "email"}};
    auto second = run(s, source, destination);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    EXPECT_EQ(second.retried, 5u);
    EXPECT_EQ(second.written, 5u);
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 0u);
    ASSERT_EQ(destination.received.size(), 5u);
    for (const auto& r : destination.received) {
        EXPECT_EQ(r.properties.size(), 1u);
        EXPECT_TRUE(r.properties.contains("email"));
    }
}

TEST_F(users_job_test, DeadLetters_NewerVersionDeliveredSince_ClearedUnsent) {
    const std::string payload =
        pipelines::encode_payload("u-000003", 100, pipelines::dead_letter_payload::stage::source,
                                  json::value(json::object{{"id", "u-000003"}}), "");
    wait(store_->add_dead_letter("users", "u-000003", payload, "refused"));
    wait(store_->add_acknowledged("users", {{"u-000003", 200}}));

    memory_source source{dummy::user_schema()};  // empty
    memory_destination destination;
    auto r = run(settings(), source, destination);
    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    EXPECT_EQ(r.retried, 0u);
    EXPECT_EQ(destination.calls, 0);
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 0u);
    EXPECT_NE(log_line("dlq.retry").find("\"obsolete\":1"), std::string::npos);
}

TEST_F(users_job_test, DeadLetters_UnreadablePayload_CountsAnAttempt) {
    wait(store_->add_dead_letter("users", "u-000009", "not json", "refused"));
    memory_source source{dummy::user_schema()};
    memory_destination destination;
    auto r = run(settings(), source, destination);
    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    auto letters = wait(store_->dead_letters("users", 10));
    ASSERT_EQ(letters.size(), 1u);
    EXPECT_EQ(letters[0].attempts, 2u);
    EXPECT_EQ(letters[0].reason, "dead letter: the payload cannot be read");
}

// ---- matching

TEST_F(users_job_test, Match_LookupOnACompany_CreatesOncePerValueThenUpdatesTheSameUser) {
    // Companies repeat across users (and within batches); ~35% are null.
    const dummy::generator gen{source_data()};
    std::set<std::string> companies;
    std::uint64_t nulls = 0;
    for (std::uint64_t i = 0; i < 2000; ++i) {
        const auto u = gen.user(i);
        const auto& c = u.properties.at("company");
        if (c.is_null())
            ++nulls;
        else
            companies.insert(std::string{c.as_string()});
    }
    ASSERT_GT(nulls, 0u);
    ASSERT_LT(companies.size(), 1000u);

    auto source = make_source();
    auto destination = make_jsonl();
    const auto s = matching_on("company", "company", pipelines::write_mode::upsert);
    auto first = run(s, *source, *destination);
    EXPECT_EQ(first.status, state::run_status::partial) << first.error;
    EXPECT_EQ(first.rejected, nulls);
    EXPECT_EQ(first.written, 2000u - nulls);
    auto rows = output_rows();
    EXPECT_EQ(rows.size(), companies.size());  // one user per company, created once
    std::set<std::string> written_companies;
    for (const auto& [id, row] : rows) {
        EXPECT_TRUE(id.starts_with("jsonl-")) << id;
        written_companies.insert(std::string{row.at("properties").at("company").as_string()});
    }
    EXPECT_EQ(written_companies, companies);
    // The created ids were put in the lookup table.
    auto found = wait(store_->get_matches("users", {companies.begin(), companies.end()}));
    EXPECT_EQ(found.size(), companies.size());
    for (const auto& [key, id] : found) EXPECT_TRUE(rows.contains(id)) << key;
    auto letters = wait(store_->dead_letters("users", 1));
    ASSERT_EQ(letters.size(), 1u);
    EXPECT_EQ(letters[0].reason, "match: no value for company");
    EXPECT_EQ(log_count("match.no_created_id"), 0u);

    // Run 1 of the source updates a tenth of the users: they update the same destination users.
    auto updated = make_source(1);
    auto second = run(s, *updated, *destination);
    EXPECT_GT(second.written, 0u);
    EXPECT_EQ(output_rows().size(), companies.size());
    EXPECT_EQ(log_count("match.refresh"), 2u);
}

TEST_F(users_job_test, Match_RefreshFromDestination_UpdateModeUpdatesOnlyExistingUsers) {
    write_existing(output(), 50);
    auto source = make_source();
    auto destination = make_jsonl();
    auto r = run(matching_on("email", "email", pipelines::write_mode::update), *source, *destination);
    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    EXPECT_EQ(r.written, 50u);
    EXPECT_EQ(r.read, r.written + r.skipped);
    auto rows = output_rows();
    EXPECT_EQ(rows.size(), 50u);  // nothing created
    EXPECT_EQ(output_lines(), 100u);
    for (const auto& [id, row] : rows) EXPECT_TRUE(id.starts_with("crm-")) << id;
    EXPECT_NE(log_line("match.refresh").find("\"matched\":50"), std::string::npos);
    auto mark = wait(store_->meta(pipelines::match_mark_key("users")));
    ASSERT_TRUE(mark.has_value());
    EXPECT_GT(std::stoll(*mark), 0);
}

TEST_F(users_job_test, Match_RefreshFromDestination_CreateModeSkipsExistingUsers) {
    write_existing(output(), 50);
    auto source = make_source();
    auto destination = make_jsonl();
    auto r = run(matching_on("email", "email", pipelines::write_mode::create), *source, *destination);
    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    EXPECT_EQ(r.written, 1950u);
    EXPECT_EQ(output_rows().size(), 2000u);
    EXPECT_EQ(output_lines(), 2000u);  // the 50 existing lines were not written again
}

TEST_F(users_job_test, Match_Native_LeavesTheLookupToTheConnector) {
    auto source = make_source();
    memory_destination destination;
    auto s = matching_on("email", "email", pipelines::write_mode::upsert);
    s.destination_match_properties = {"email"};
    auto r = run(s, *source, destination);
    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    EXPECT_EQ(r.written, 2000u);
    ASSERT_EQ(destination.received.size(), 2000u);
    for (const auto& rec : destination.received) {
        EXPECT_TRUE(rec.id.empty());
        EXPECT_EQ(rec.match_property, "email");
        EXPECT_TRUE(rec.properties.contains("email"));
    }
    EXPECT_EQ(log_count("match.refresh"), 0u);
}

TEST_F(users_job_test, Match_NativePropertyInUpdateMode_UsesTheLookupTable) {
    auto source = make_source();
    memory_destination destination;  // lists no records: nobody matches
    auto s = matching_on("email", "email", pipelines::write_mode::update);
    s.destination_match_properties = {"email"};
    auto r = run(s, *source, destination);
    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    EXPECT_EQ(r.written, 0u);
    EXPECT_EQ(r.skipped, r.read);
    EXPECT_EQ(destination.calls, 0);
    EXPECT_EQ(log_count("match.refresh"), 1u);
}

TEST_F(users_job_test, Jsonl_Upsert_ReportsTheIdsItCreates) {
    auto destination = make_jsonl();
    std::vector<record> records(2);
    records[0].properties = {{"email", "a@example.com"}};
    records[1].id = "u-1";
    records[1].properties = {{"email", "b@example.com"}};
    record_batch batch{std::move(records)};
    auto result = wait(checked_upsert(*destination, target::users, batch, dummy::user_schema()));
    ASSERT_TRUE(result) << result.error().message;
    const std::string created = batch.outcomes()[0].id;
    EXPECT_TRUE(created.starts_with("jsonl-")) << created;
    EXPECT_EQ(created.size(), 6u + 32u);
    EXPECT_EQ(batch.outcomes()[1].id, "");
    EXPECT_EQ(output_ids(), (std::set<std::string>{created, "u-1"}));
}

}  // namespace
