#include "codegen/runtime.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace {

// Waits for `done()` by spinning for a short while, then by sleeping on `wake` until `done()` holds.
// A kernel called in a loop finds its workers still spinning, so a parallel call costs a few hundred
// nanoseconds instead of the tens of microseconds of a wake-up from sleep.
template <typename Done>
void await(std::mutex& mutex, std::condition_variable& wake, Done done) {
    using Clock = std::chrono::steady_clock;
    const auto until = Clock::now() + std::chrono::microseconds(200);
    for (int i = 1; !done(); ++i) {
        __builtin_ia32_pause();
        if ((i & 255) == 0 && Clock::now() > until) {
            std::unique_lock<std::mutex> lock(mutex);
            wake.wait(lock, done);
            return;
        }
    }
}

// Persistent workers: starting threads for every call would cost more than a small kernel runs.
class Pool {
public:
    static Pool& instance() {
        static Pool pool;
        return pool;
    }

    void run(void (*task)(void*, std::int64_t, std::int64_t), void* context, std::int64_t count, std::int64_t workers) {
        workers = std::max<std::int64_t>(1, std::min(workers, count));
        if (workers == 1) {
            task(context, 0, count);
            return;
        }
        std::lock_guard<std::mutex> serial(callMutex_); // one parallel region at a time
        grow(static_cast<std::size_t>(workers - 1));
        task_ = task;
        context_ = context;
        count_ = count;
        chunks_ = workers;
        pending_.store(workers - 1, std::memory_order_relaxed);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        runChunk(0);
        await(mutex_, done_, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    }

    ~Pool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        for (auto& t : threads_)
            t.join();
    }

private:
    void grow(std::size_t wanted) {
        while (threads_.size() < wanted) {
            const std::int64_t chunk = static_cast<std::int64_t>(threads_.size()) + 1;
            threads_.emplace_back([this, chunk] { serve(chunk); });
        }
    }

    void runChunk(std::int64_t chunk) {
        const std::int64_t begin = count_ * chunk / chunks_;
        const std::int64_t end = count_ * (chunk + 1) / chunks_;
        if (begin < end)
            task_(context_, begin, end);
    }

    void serve(std::int64_t chunk) {
        std::uint64_t seen = 0;
        while (true) {
            await(mutex_, wake_, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            seen = generation_.load(std::memory_order_acquire);
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (stopping_)
                    return;
            }
            if (chunk >= chunks_)
                continue;
            runChunk(chunk);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lock(mutex_); // the caller may be asleep on done_
                done_.notify_one();
            }
        }
    }

    std::mutex callMutex_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> threads_;
    void (*task_)(void*, std::int64_t, std::int64_t) = nullptr;
    void* context_ = nullptr;
    std::int64_t count_ = 0, chunks_ = 1;
    std::atomic<std::int64_t> pending_{0};
    std::atomic<std::uint64_t> generation_{0};
    bool stopping_ = false;
};

} // namespace

extern "C" void isamap_parallel_for(void (*task)(void*, std::int64_t, std::int64_t), void* context, std::int64_t count,
                                    std::int64_t workers) {
    if (count > 0)
        Pool::instance().run(task, context, count, workers);
}
