#pragma once
// The storage thread: one thread that owns the state database and every
// fsync. The event loop hands it work and awaits the result, which is posted
// back to the loop, so durable writes never stall the loop's timers.
//
//   int n = co_await storage.run([&db] { return db.count(); });
//
// run() completes on the awaiting coroutine's executor with the function's
// result, or rethrows the exception it threw. Work runs in submission order.
// Once queued, work is not cancellable: cancelling the awaiting coroutine does
// not stop the function; its result is discarded if nobody waits for it.
// The functions must not capture references that die before they run.
//
// Work submitted in one loop turn is drained as one batch: before_batch and
// after_batch hooks (set before start) let the state store group-commit.
// Joining (group_commit.hpp): while writers are announced (expect_writes) and the
// batch holds an open write transaction (the joinable hook), the batch stays open up
// to group_commit_settings::max_wait for their work, which then runs in it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include "core/async/group_commit.hpp"
#include "core/async/use_nothrow.hpp"

namespace tributary {

class storage_thread {
public:
    explicit storage_thread(group_commit_settings joining = {});
    /// Finishes queued work, then joins.
    ~storage_thread();
    storage_thread(const storage_thread&) = delete;
    storage_thread& operator=(const storage_thread&) = delete;

    /// Hooks run on the storage thread around each drained batch of work. `joinable` (optional,
    /// run after the batch's work) says whether the batch is worth holding open for announced
    /// writers (it has a write transaction open); without it batches are never held.
    void set_batch_hooks(std::function<void()> before,
                         std::function<void()> after,
                         std::function<bool()> joinable = {});

    /// Announces `delta` writers that will submit work soon (> 0), or withdraws them (< 0: their
    /// work was submitted, or will not come). Any thread. A batch waits for announced writers
    /// at most group_commit_settings::max_wait; a withdrawal does not wake it (the work that
    /// follows does), so withdraw just before submitting.
    void expect_writes(int delta);

    /// Starts the thread. Idempotent.
    void start();
    /// Finishes queued work and joins the thread. Idempotent; run() after stop() throws.
    void stop();

    /// True on the storage thread itself.
    bool on_storage_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

    /// Runs `fn` on the storage thread; see the header comment.
    template <class F>
    awaitable<std::invoke_result_t<F&>> run(F fn);

    /// Work items completed so far (for tests and metrics).
    std::uint64_t completed() const;
    /// Work items that joined a batch held open for announced writers (for tests and metrics).
    std::uint64_t joined() const;

private:
    // Two stages so that completions are posted only after the batch's
    // after-hook (the commit) ran: a caller never sees "done" before durable.
    struct job {
        virtual ~job() = default;
        virtual void execute() = 0;
        virtual void complete() = 0;
    };
    template <class Fn, class Handler, class Executor>
    struct job_impl final : job {
        using result_t = std::invoke_result_t<Fn&>;
        job_impl(Fn f, Handler h, Executor e) : fn(std::move(f)), handler(std::move(h)), ex(std::move(e)) {}
        void execute() override {
            try {
                if constexpr (std::is_void_v<result_t>) {
                    fn();
                } else {
                    value.emplace(fn());
                }
            } catch (...) {
                error = std::current_exception();
            }
        }
        void complete() override {
            boost::asio::post(ex, [h = std::move(handler), ep = error, v = std::move(value)]() mutable {
                if constexpr (std::is_void_v<result_t>) {
                    std::move(h)(ep);
                } else {
                    std::move(h)(ep, v ? std::move(*v) : result_t{});
                }
            });
        }
        Fn fn;
        Handler handler;
        Executor ex;
        std::exception_ptr error;
        std::optional<std::conditional_t<std::is_void_v<result_t>, bool, result_t>> value;
    };
    template <class R>
    struct completion_signature {
        using type = void(std::exception_ptr, R);
    };
    void enqueue_job(std::unique_ptr<job> j);
    void check_accepting() const;
    void loop();

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<job>> queue_;
    bool stopping_ = false;
    bool started_ = false;
    std::uint64_t completed_ = 0;
    std::function<void()> before_batch_, after_batch_;
    std::function<bool()> joinable_;
    group_commit joining_;
    std::ptrdiff_t announced_ = 0;
    std::uint64_t joined_ = 0;
    std::thread thread_;
};

template <>
struct storage_thread::completion_signature<void> {
    using type = void(std::exception_ptr);
};

template <class F>
awaitable<std::invoke_result_t<F&>> storage_thread::run(F fn) {
    using result_t = std::invoke_result_t<F&>;
    namespace asio = boost::asio;
    using signature = typename completion_signature<result_t>::type;
    // Checked here, in the coroutine, so the error reaches the awaiting code
    // rather than escaping from the initiation inside io_context::run().
    check_accepting();
    auto init = [this, fn = std::move(fn)](auto handler) mutable {
        auto ex =
            asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        enqueue_job(std::make_unique<job_impl<F, decltype(handler), decltype(ex)>>(
            std::move(fn), std::move(handler), std::move(ex)));
    };
    co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, signature>(std::move(init),
                                                                                       asio::use_awaitable);
}

}  // namespace tributary
