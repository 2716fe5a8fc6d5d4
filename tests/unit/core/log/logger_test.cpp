#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "core/log/sinks.hpp"

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using tributary::manual_clock;
using tributary::log::format;
using tributary::log::level;
using tributary::log::logger;
using tributary::log::logger_settings;
using tributary::log::memory_sink;

json::object parse_object(const std::string& line) {
    json::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << line;
        return {};
    }
    return v.as_object();
}

std::vector<json::object> parse_all(const memory_sink& sink) {
    std::vector<json::object> out;
    for (const auto& l : sink.lines()) out.push_back(parse_object(l));
    return out;
}

struct fixture {
    manual_clock clock;
    std::shared_ptr<memory_sink> sink = std::make_shared<memory_sink>();

    logger make(logger_settings s = {}) { return logger{sink, s, clock}; }
};

TEST(Logger_Json, WritesOneParseableLineWithFields) {
    fixture f;
    f.clock.set_wall(std::chrono::sys_days{std::chrono::year{2026} / 11 / 27} + 3h + 45min + 22s + 123ms);
    auto log = f.make();
    const std::string path = "/etc/tributary.yaml";
    log.error("config.invalid", {{"file", path}, {"line", 12}, {"message", "expected a map"}});
    ASSERT_EQ(f.sink->lines().size(), 1u);
    EXPECT_EQ(f.sink->lines()[0],
              R"({"ts":"2026-11-27T03:45:22.123Z","level":"error","event":"config.invalid",)"
              R"("file":"/etc/tributary.yaml","line":12,"message":"expected a map"})");
}

TEST(Logger_Text, UsesTextFormatWhenConfigured) {
    fixture f;
    auto log = f.make({.fmt = format::text}).with_component("daemon");
    log.info("daemon.start", {{"version", "0.1.0"}, {"mode", "run once"}});
    ASSERT_EQ(f.sink->lines().size(), 1u);
    EXPECT_EQ(f.sink->lines()[0],
              R"(2026-01-01T00:00:00.000Z INFO  daemon daemon.start version=0.1.0 mode="run once")");
}

TEST(Logger_LevelFilter, DropsBelowMinimumAndOffDropsAll) {
    fixture f;
    auto log = f.make({.min_level = level::warn});
    log.trace("t");
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    log.critical("c");
    log.log(level::off, "never");
    std::vector<std::string> events;
    for (const auto& o : parse_all(*f.sink)) events.emplace_back(o.at("event").as_string());
    EXPECT_EQ(events, (std::vector<std::string>{"w", "e", "c"}));
    EXPECT_FALSE(log.enabled(level::info));
    EXPECT_TRUE(log.enabled(level::warn));
    EXPECT_FALSE(log.enabled(level::off));

    auto silent = f.make({.min_level = level::off});
    silent.critical("c");
    EXPECT_FALSE(silent.enabled(level::critical));
    EXPECT_EQ(f.sink->lines().size(), 3u);
}

TEST(Logger_WithComponent, AddsComponentJoinsNestedAndSharesTheSink) {
    fixture f;
    auto root = f.make();
    auto jobs = root.with_component("jobs");
    auto http = jobs.with_component("http");
    root.info("a");
    jobs.info("b");
    http.info("c");
    EXPECT_EQ(root.component(), "");
    const auto lines = parse_all(*f.sink);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_FALSE(lines[0].contains("component"));
    EXPECT_EQ(lines[1].at("component").as_string(), "jobs");
    EXPECT_EQ(lines[2].at("component").as_string(), "jobs.http");
}

TEST(Logger_Suppression, SixCallsEmitFiveAndNextWindowCarriesCount) {
    fixture f;
    auto log = f.make();
    auto six_retries = [&log] {
        for (int i = 0; i < 6; ++i) log.warn("http.retry", {{"attempt", i}});
    };
    six_retries();
    EXPECT_EQ(f.sink->lines().size(), 5u);
    f.clock.advance(10s);
    six_retries();
    const auto lines = parse_all(*f.sink);
    ASSERT_EQ(lines.size(), 10u);
    EXPECT_EQ(lines[5].at("suppressed").as_int64(), 1);
    EXPECT_EQ(lines[5].at("attempt").as_int64(), 0);
    for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i].contains("suppressed"), i == 5) << i;
}

TEST(Logger_Suppression, CopiesShareCountsButComponentsAreSeparate) {
    fixture f;
    auto a = f.make().with_component("klaviyo");
    auto copy = a;
    auto b = a.with_component("hubspot");
    auto emit = [](logger& l) { l.warn("http.retry"); };  // one call site for all three
    for (int i = 0; i < 4; ++i) {
        emit(a);
        emit(copy);
        emit(b);
    }
    int klaviyo = 0, hubspot = 0;
    for (const auto& o : parse_all(*f.sink)) {
        if (o.at("component").as_string() == "klaviyo") ++klaviyo;
        if (o.at("component").as_string() == "klaviyo.hubspot") ++hubspot;
    }
    EXPECT_EQ(klaviyo, 5);
    EXPECT_EQ(hubspot, 4);
}

TEST(Logger_Suppression, BurstZeroWritesEverything) {
    fixture f;
    auto log = f.make({.suppression = {.burst = 0}});
    for (int i = 0; i < 50; ++i) log.info("x");
    EXPECT_EQ(f.sink->lines().size(), 50u);
}

TEST(Logger_QuietSite, GetsSummaryLineOnLaterLogCall) {
    fixture f;
    auto log = f.make().with_component("loop");
    for (int i = 0; i < 8; ++i) log.warn("loop.stall");
    f.clock.advance(11s);
    log.info("other.event");
    const auto lines = parse_all(*f.sink);
    ASSERT_EQ(lines.size(), 7u);
    const auto& summary = lines[5];
    EXPECT_EQ(summary.at("event").as_string(), "log.suppressed");
    EXPECT_EQ(summary.at("level").as_string(), "warn");
    EXPECT_EQ(summary.at("component").as_string(), "loop");
    EXPECT_EQ(summary.at("suppressed_event").as_string(), "loop.stall");
    EXPECT_NE(std::string(summary.at("file").as_string()).find("logger_test.cpp"), std::string::npos);
    EXPECT_GT(summary.at("line").as_int64(), 0);
    EXPECT_EQ(summary.at("suppressed").as_int64(), 3);
    EXPECT_EQ(lines[6].at("event").as_string(), "other.event");
    EXPECT_FALSE(lines[6].contains("suppressed"));
}

TEST(Logger_QuietSite, NotReportedWhileItsWindowIsOpen) {
    fixture f;
    auto log = f.make();
    for (int i = 0; i < 8; ++i) log.warn("loop.stall");
    f.clock.advance(3s);
    log.info("other.event");
    EXPECT_EQ(f.sink->lines().size(), 6u);
}

TEST(Logger_Flush, ReportsOpenWindowCountsOnce) {
    fixture f;
    auto log = f.make();
    for (int i = 0; i < 7; ++i) log.warn("loop.stall");
    log.flush();
    log.flush();
    auto lines = parse_all(*f.sink);
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_EQ(lines[5].at("event").as_string(), "log.suppressed");
    EXPECT_EQ(lines[5].at("suppressed").as_int64(), 2);
}

TEST(Logger_Null, IsDisabledAndWritesNothing) {
    auto log = logger::null();
    EXPECT_FALSE(log.enabled(level::critical));
    log.critical("x", {{"k", 1}});
    log.with_component("c").error("y");
    log.flush();
}

TEST(Logger_Construction, RejectsNullSink) {
    EXPECT_THROW(logger{nullptr}, std::invalid_argument);
}

TEST(Logger_Format, ParsesWhatToStringWrites) {
    EXPECT_EQ(tributary::log::parse_format("json"), format::json);
    EXPECT_EQ(tributary::log::parse_format("text"), format::text);
    EXPECT_EQ(tributary::log::parse_format(tributary::log::to_string(format::text)), format::text);
    EXPECT_FALSE(tributary::log::parse_format("JSON"));
    EXPECT_FALSE(tributary::log::parse_format(""));
}

static_assert(!std::is_constructible_v<logger, std::shared_ptr<memory_sink>, logger_settings, manual_clock>,
              "a temporary clock would dangle");

TEST(Logger_Threads, TwoWritersProduceIntactLines) {
    fixture f;
    auto log = f.make({.suppression = {.burst = 0}});
    constexpr int per_thread = 2000;
    auto writer = [log](int id) mutable {
        for (int i = 0; i < per_thread; ++i)
            log.info("thread.tick", {{"thread", id}, {"i", i}, {"pad", std::string(40, 'x')}});
    };
    std::thread t1(writer, 1);
    std::thread t2(writer, 2);
    t1.join();
    t2.join();
    const auto lines = parse_all(*f.sink);
    ASSERT_EQ(lines.size(), 2u * per_thread);
    std::vector<int> next(3, 0);
    for (const auto& o : lines) {
        const auto id = o.at("thread").as_int64();
        ASSERT_TRUE(id == 1 || id == 2);
        EXPECT_EQ(o.at("i").as_int64(), next[id]++);
        EXPECT_EQ(o.at("pad").as_string().size(), 40u);
    }
}

TEST(Logger_Threads, SuppressionCountsAreExactUnderContention) {
    fixture f;
    auto log = f.make();
    auto writer = [log]() mutable {
        for (int i = 0; i < 1000; ++i) log.warn("hot.path");
    };
    std::thread t1(writer);
    std::thread t2(writer);
    t1.join();
    t2.join();
    EXPECT_EQ(f.sink->lines().size(), 5u);
    log.flush();
    const auto lines = parse_all(*f.sink);
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_EQ(lines[5].at("suppressed").as_int64(), 1995);
}

TEST(MemorySink_Clear, RemovesLines) {
    memory_sink sink;
    sink.write(level::info, "a");
    sink.clear();
    sink.write(level::info, "b");
    EXPECT_EQ(sink.lines(), (std::vector<std::string>{"b"}));
}

// Runs `fn` with file descriptor 2 pointed at a temporary file and returns what was written.
template <class F>
std::string capture_stderr(F fn) {
    std::fflush(stderr);
    FILE* tmp = std::tmpfile();
    if (!tmp) throw std::runtime_error("tmpfile failed");
    const int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    fn();
    std::fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    std::string out;
    std::rewind(tmp);
    char buf[512];
    while (const auto n = std::fread(buf, 1, sizeof buf, tmp)) out.append(buf, n);
    std::fclose(tmp);
    return out;
}

TEST(StderrSink_Write, EmitsExactlyTheLineAndANewline) {
    const std::string out = capture_stderr([] {
        auto sink = std::make_shared<tributary::log::stderr_sink>();
        manual_clock clock;
        logger log{sink, {}, clock};
        log.info("daemon.start", {{"msg", "a\nb %v {}"}});
        sink->write(level::error, "second");
        log.flush();
    });
    EXPECT_EQ(out,
              "{\"ts\":\"2026-01-01T00:00:00.000Z\",\"level\":\"info\",\"event\":\"daemon.start\","
              "\"msg\":\"a\\nb %v {}\"}\nsecond\n");
}

}  // namespace

// --- suppression keys, never-suppressed events, source paths (issue #11) ---------------------------

namespace {

std::size_t count_with(const std::vector<json::object>& lines, std::string_view key, std::int64_t v) {
    std::size_t n = 0;
    for (const auto& l : lines) n += l.contains(key) && l.at(key).as_int64() == v;
    return n;
}

}  // namespace

TEST(Logger_SuppressionKey, DifferentStatusesAreNotRepeats) {
    fixture f;
    auto log = f.make();
    // One call site, two cases: a 401 and a 415 are two problems, each with its own budget.
    for (int i = 0; i < 16; ++i)
        log.info("http.retry", {{"job", "j"}, {"status", i % 2 == 0 ? 401 : 415}, {"attempt", i}});
    const auto lines = parse_all(*f.sink);
    EXPECT_EQ(count_with(lines, "status", 401), 5u);
    EXPECT_EQ(count_with(lines, "status", 415), 5u);
}

TEST(Logger_SuppressionKey, ChangingCountsAndMessagesStillRepeat) {
    fixture f;
    auto log = f.make();
    for (int i = 0; i < 10; ++i)
        log.warn("job.backoff", {{"job", "j"}, {"attempt", i}, {"error", "timeout " + std::to_string(i)}});
    EXPECT_EQ(f.sink->lines().size(), 5u);
}

TEST(Logger_SuppressionKey, SiteDetailNamesOnlyDistinguishingFields) {
    using tributary::log::field;
    const field fields[] = {{"job", "orders"}, {"connection", "hook"}, {"status", 415},      {"attempt", 3},
                            {"error", "boom"}, {"delay", 250ms},       {"reason", "mapping"}};
    EXPECT_EQ(tributary::log::site_detail(fields), "job=orders connection=hook status=415 reason=mapping");
}

TEST(Logger_ConfigInvalid, NeverSuppressed) {
    fixture f;
    auto log = f.make();
    for (int i = 0; i < 40; ++i) log.error("config.invalid", {{"path", "jobs.a"}, {"line", i}});
    EXPECT_EQ(f.sink->lines().size(), 40u);
}

TEST(Logger_QuietSite, SummaryNamesTheSourceFileRelatively) {
    fixture f;
    auto log = f.make();
    for (int i = 0; i < 8; ++i) log.warn("http.retry", {{"status", 503}});
    log.flush();
    const auto lines = parse_all(*f.sink);
    ASSERT_EQ(lines.size(), 6u);
    EXPECT_EQ(lines[5].at("file").as_string(), "tests/unit/core/log/logger_test.cpp");
    EXPECT_EQ(lines[5].at("cases").as_string(), "status=503");
}

TEST(Logger_SourcePath, NeverAbsolute) {
    EXPECT_EQ(tributary::log::source_path("/somewhere/else/core/x.cpp"), "x.cpp");
    EXPECT_EQ(tributary::log::source_path("core/x.cpp"), "core/x.cpp");
    EXPECT_EQ(tributary::log::source_path("../../core/x.cpp"), "core/x.cpp");
    EXPECT_EQ(tributary::log::source_path(TRIBUTARY_TEST_SOURCE_ROOT "/core/x.cpp"), "core/x.cpp");
}

TEST(Logger_ExceptionText, DropsBoostSourceLocation) {
    static constexpr boost::source_location loc{"/usr/include/boost/asio/impl/x.ipp", 42, "bind"};
    boost::system::error_code ec(98, boost::system::system_category(), &loc);
    const boost::system::system_error e(ec, "bind");
    ASSERT_NE(std::string(e.what()).find("/usr/include"), std::string::npos) << e.what();
    const auto text = tributary::log::exception_text(e);
    EXPECT_EQ(text.find('/'), std::string::npos) << text;
    EXPECT_EQ(text, "bind: " + ec.message() + " [system:98]");
    const std::runtime_error plain("plain / text");
    EXPECT_EQ(tributary::log::exception_text(plain), "plain / text");
}
