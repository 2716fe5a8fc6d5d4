#pragma once
// Runs the real tributary binary (or any program) from end-to-end tests:
// arguments, extra environment, stdout/stderr captured to files, signals,
// and a bounded wait so a hung child fails the test instead of hanging it.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/temp_dir.hpp"  // temp_dir, which the end-to-end tests use with these

namespace tributary::test {

class child_process {
public:
    /// Starts `program` with `args`; `env` entries ("K=V") are added to (or override) the environment.
    child_process(const std::string& program,
                  const std::vector<std::string>& args,
                  const std::vector<std::string>& env = {});
    ~child_process();  // kills (SIGKILL) and reaps a child that is still running
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int sig);

    /// Waits at most `timeout`; returns the exit code, or -signal when killed by a signal,
    /// or nullopt on timeout (the child is left running).
    std::optional<int> wait(std::chrono::milliseconds timeout);

    /// Waits until `needle` appears in stderr (or stdout), at most `timeout`.
    bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);

    std::string out() const;
    std::string err() const;

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::filesystem::path dir_;
};

/// A loopback TCP port nobody listens on now (the kernel's pick, released at once), for a child
/// that must bind the same port again after a restart; 0 if none could be had.
std::uint16_t free_loopback_port();

struct run_result {
    int code = -1000;  ///< exit code, -signal, or -1000 on timeout
    std::string out, err;
};

/// Runs to completion (at most `timeout`, default 60 s).
run_result run(const std::string& program,
               const std::vector<std::string>& args,
               const std::vector<std::string>& env = {},
               std::chrono::milliseconds timeout = std::chrono::seconds{60});

/// The port of the daemon's `ingest.listen` line in `log` (log.format json); 0 when absent.
std::uint16_t ingest_listen_port(const std::string& log);

}  // namespace tributary::test
