#include "codegen/runtime.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace {

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
        {
            std::lock_guard<std::mutex> lock(mutex_);
            task_ = task;
            context_ = context;
            count_ = count;
            chunks_ = workers;
            pending_ = workers - 1;
            ++generation_;
        }
        wake_.notify_all();
        runChunk(0);
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return pending_ == 0; });
    }

    ~Pool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
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
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
                if (stopping_)
                    return;
                seen = generation_;
                if (chunk >= chunks_)
                    continue;
            }
            runChunk(chunk);
            std::lock_guard<std::mutex> lock(mutex_);
            if (--pending_ == 0)
                done_.notify_one();
        }
    }

    std::mutex callMutex_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> threads_;
    void (*task_)(void*, std::int64_t, std::int64_t) = nullptr;
    void* context_ = nullptr;
    std::int64_t count_ = 0, chunks_ = 1, pending_ = 0;
    std::uint64_t generation_ = 0;
    bool stopping_ = false;
};

} // namespace

extern "C" void isamap_parallel_for(void (*task)(void*, std::int64_t, std::int64_t), void* context, std::int64_t count,
                                    std::int64_t workers) {
    if (count > 0)
        Pool::instance().run(task, context, count, workers);
}
