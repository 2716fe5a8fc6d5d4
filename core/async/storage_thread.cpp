#include "core/async/storage_thread.hpp"

#include <stdexcept>

namespace tributary {

storage_thread::storage_thread() = default;

storage_thread::~storage_thread() {
    stop();
}

void storage_thread::set_batch_hooks(std::function<void()> before, std::function<void()> after) {
    std::lock_guard lock(mutex_);
    before_batch_ = std::move(before);
    after_batch_ = std::move(after);
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
    std::deque<std::unique_ptr<job>> batch;
    for (;;) {
        std::function<void()> before, after;
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping and drained
            batch.swap(queue_);
            before = before_batch_;
            after = after_batch_;
        }
        // Hooks let the state store wrap a whole batch in one transaction:
        // many coroutines' writes, one fsync.
        if (before) before();
        std::size_t n = batch.size();
        for (auto& j : batch) j->execute();
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
