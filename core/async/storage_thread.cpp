#include "core/async/storage_thread.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace tributary {

storage_thread::storage_thread(group_commit_settings joining) : joining_(joining) {}

storage_thread::~storage_thread() {
    stop();
}

void storage_thread::set_batch_hooks(std::function<void()> before,
                                     std::function<void()> after,
                                     std::function<bool()> joinable) {
    std::lock_guard lock(mutex_);
    before_batch_ = std::move(before);
    after_batch_ = std::move(after);
    joinable_ = std::move(joinable);
}

void storage_thread::expect_writes(int delta) {
    std::lock_guard lock(mutex_);
    announced_ = std::max<std::ptrdiff_t>(announced_ + delta, 0);
}

std::uint64_t storage_thread::joined() const {
    std::lock_guard lock(mutex_);
    return joined_;
}

void storage_thread::start() {
    std::lock_guard lock(mutex_);
    if (started_) return;
    started_ = true;
    thread_ = std::thread([this] { loop(); });
}

void storage_thread::stop() {
    {
        std::lock_guard lock(mutex_);
        if (!started_ || stopping_) {
            stopping_ = true;
            if (!thread_.joinable()) return;
        }
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable() && !on_storage_thread()) thread_.join();
}

std::uint64_t storage_thread::completed() const {
    std::lock_guard lock(mutex_);
    return completed_;
}

void storage_thread::check_accepting() const {
    std::lock_guard lock(mutex_);
    if (stopping_) throw std::logic_error("storage thread is stopped");
    if (!started_) throw std::logic_error("storage thread is not started");
}

void storage_thread::enqueue_job(std::unique_ptr<job> j) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw std::logic_error("storage thread is stopped");
        if (!started_) throw std::logic_error("storage thread is not started");
        queue_.push_back(std::move(j));
    }
    cv_.notify_one();
}

void storage_thread::loop() {
    using std::chrono::steady_clock;
    std::deque<std::unique_ptr<job>> batch;
    std::deque<std::unique_ptr<job>> more;
    for (;;) {
        std::function<void()> before, after;
        std::function<bool()> joinable;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping and drained
            batch.swap(queue_);
            before = before_batch_;
            after = after_batch_;
            joinable = joinable_;
        }
        // Hooks let the state store wrap a whole batch in one transaction:
        // many coroutines' writes, one fsync.
        if (before) before();
        const auto started = steady_clock::now();
        for (auto& j : batch) j->execute();
        // Joining: while writers are announced, their work runs in this transaction too.
        while (joinable) {
            std::unique_lock lock(mutex_);
            const auto elapsed =
                std::chrono::duration_cast<std::chrono::microseconds>(steady_clock::now() - started);
            const auto hold = joining_.hold(batch.size(), static_cast<std::size_t>(announced_), elapsed);
            if (!hold || stopping_ || !joinable()) break;
            if (queue_.empty()) {
                cv_.wait_for(lock, *hold, [this] { return stopping_ || !queue_.empty(); });
            }
            if (queue_.empty()) continue;  // asks again: the wait may be over
            more.swap(queue_);
            joined_ += more.size();
            lock.unlock();
            for (auto& j : more) {
                j->execute();
                batch.push_back(std::move(j));
            }
            more.clear();
        }
        const std::size_t n = batch.size();
        if (after) after();
        {
            // Counted before the completions are posted, so an awaiting
            // coroutine that resumes sees its own work in completed().
            std::lock_guard lock(mutex_);
            completed_ += n;
        }
        for (auto& j : batch) j->complete();
        batch.clear();
    }
}

}  // namespace tributary
