#include "tests/support/process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace tributary::test {

namespace fs = std::filesystem;

namespace {

fs::path make_temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "tributary-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    return tmpl;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

child_process::child_process(const std::string& program,
                             const std::vector<std::string>& args,
                             const std::vector<std::string>& env)
    : dir_(make_temp_dir()) {
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) {
        std::string kv = *e;
        auto key = kv.substr(0, kv.find('='));
        bool overridden = false;
        for (const auto& o : env) overridden |= o.substr(0, o.find('=')) == key;
        if (!overridden) envs.push_back(kv);
    }
    for (const auto& o : env) envs.push_back(o);
    // The daemon's control socket defaults to $RUNTIME_DIRECTORY/control.sock: each child gets its
    // own, so daemons of tests running side by side do not meet at /run/tributary.
    const bool has_runtime_dir = std::any_of(envs.begin(), envs.end(), [](const std::string& kv) {
        return kv.rfind("RUNTIME_DIRECTORY=", 0) == 0;
    });
    if (!has_runtime_dir) envs.push_back("RUNTIME_DIRECTORY=" + (dir_ / "run").string());

    std::vector<char*> argv;
    std::string prog = program;
    argv.push_back(prog.data());
    std::vector<std::string> a = args;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& s : envs) envp.push_back(s.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    auto out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = posix_spawn(&pid_, program.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("posix_spawn " + program + ": " + std::strerror(rc));
}

child_process::~child_process() {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        ::waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

void child_process::signal(int sig) {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
        int st = 0;
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    return status_;
}

bool child_process::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (err().find(needle) != std::string::npos || out().find(needle) != std::string::npos) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
}

std::string child_process::out() const {
    return slurp(dir_ / "stdout");
}
std::string child_process::err() const {
    return slurp(dir_ / "stderr");
}

run_result run(const std::string& program,
               const std::vector<std::string>& args,
               const std::vector<std::string>& env,
               std::chrono::milliseconds timeout) {
    child_process p(program, args, env);
    run_result r;
    auto code = p.wait(timeout);
    r.code = code ? *code : -1000;
    r.out = p.out();
    r.err = p.err();
    return r;
}

std::uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
        port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

std::uint16_t ingest_listen_port(const std::string& log) {
    const auto at = log.find("\"ingest.listen\"");
    if (at == std::string::npos) return 0;
    const auto key = log.find("\"port\":", at);
    if (key == std::string::npos) return 0;
    std::uint16_t port = 0;
    std::from_chars(log.data() + key + 7, log.data() + log.size(), port);
    return port;
}

}  // namespace tributary::test
