#include "search/run.h"

#include "cost/cost.h"

#include <algorithm>
#include <iterator>

namespace isamap::search::detail {

namespace {

// Reading the clock costs about as much as a tenth of an evaluation: do it every this many calls.
constexpr std::int64_t kClockEvery = 64;
// Progress without a budget to take a hundredth of: this often, in seconds.
constexpr double kUnboundedProgressSeconds = 0.1;

} // namespace

Run::Run(const schedule::Space& space, const Options& options, std::string strategy)
    : space_(space), options_(options), strategy_(std::move(strategy)), choices_(choicesOf(space, options.constraints)),
      rng_(options.seed), start_(std::chrono::steady_clock::now()), keep_(std::max<std::size_t>(options.keepBest, 1)) {
    limitTo(options.budget.evaluations);
    nextProgressTime_ = options.budget.seconds > 0 ? options.budget.seconds / 100 : kUnboundedProgressSeconds;
}

void Run::limitTo(std::int64_t points) {
    if (points > 0)
        limit_ = limit_ > 0 ? std::min(limit_, points) : points;
    progressEvery_ = limit_ > 0 ? std::max<std::int64_t>(1, limit_ / 100) : 0;
    nextProgress_ = evaluations_ + progressEvery_;
}

double Run::evaluate(const schedule::Schedule& s) {
    count();
    double seconds = kRejected;
    if (legal(s) && (!options_.constraints || options_.constraints->allows(space_, s))) {
        seconds = cost::modeledSeconds(space_, s);
        keep(s, seconds);
    }
    return seconds;
}

void Run::count() {
    ++evaluations_;
    if (progressEvery_ > 0 && evaluations_ >= nextProgress_) {
        reportProgress();
        nextProgress_ += progressEvery_;
    }
}

bool Run::legal(const schedule::Schedule& s) const {
    // Most rejections are for capacity, and schedule::illegal words them with formatted sizes, which
    // costs ten evaluations: the same rule without the words turns those away first.
    for (std::size_t l = 1; l < s.levels.size() && l < space_.levels.size(); ++l)
        if (s.levels[l].tiles.size() == space_.dims.size() && s.levels[l].keeps.size() == space_.operands.size() &&
            !fits(space_, s, l))
            return false;
    return !schedule::illegal(space_, s);
}

void Run::constrain(schedule::Schedule& s) const {
    if (!options_.constraints)
        return;
    options_.constraints->apply(space_, s);
    settle(choices_, s);
    // Settling may have shrunk a tile a constraint fixes below its parent's; force it back, and let
    // illegal reject the proposal if the two cannot both hold.
    options_.constraints->apply(space_, s);
}

void Run::keep(const schedule::Schedule& s, double seconds) {
    if (best_.size() >= keep_ && seconds >= std::prev(best_.end())->seconds)
        return;
    // Equal schedules cost the same: only those of equal seconds need comparing.
    const auto [first, last] = best_.equal_range(seconds);
    for (auto it = first; it != last; ++it)
        if (it->schedule == s)
            return;
    const bool improves = last == best_.begin();
    best_.insert(last, Evaluated{s, seconds, evaluations_}); // after its equals
    if (best_.size() > keep_)
        best_.erase(std::prev(best_.end()));
    if (improves && options_.onImprovement)
        options_.onImprovement(*best_.begin());
}

bool Run::done() {
    if (options_.cancel && options_.cancel->load(std::memory_order_relaxed)) {
        cancelled_ = true;
        return true;
    }
    if (limit_ > 0 && evaluations_ >= limit_)
        return true;
    if (calls_++ % kClockEvery == 0) {
        const double now = elapsed();
        elapsedSeen_ = now;
        if (options_.budget.seconds > 0 && now >= options_.budget.seconds)
            timeUp_ = true;
        if ((options_.budget.seconds > 0 || limit_ == 0) && now >= nextProgressTime_ && !timeUp_) {
            reportProgress();
            const double step = options_.budget.seconds > 0 ? options_.budget.seconds / 100 : kUnboundedProgressSeconds;
            nextProgressTime_ = std::max(nextProgressTime_ + step, now);
        }
    }
    return timeUp_;
}

double Run::fraction() const {
    double f = 0;
    if (limit_ > 0)
        f = static_cast<double>(evaluations_) / static_cast<double>(limit_);
    if (options_.budget.seconds > 0)
        f = std::max(f, elapsedSeen_ / options_.budget.seconds);
    if (limit_ == 0 && options_.budget.seconds <= 0)
        f = static_cast<double>(evaluations_ % kCycle) / static_cast<double>(kCycle);
    return std::clamp(f, 0.0, 1.0);
}

double Run::elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Run::reportProgress() {
    if (!options_.onProgress)
        return;
    Progress p;
    p.evaluations = evaluations_;
    p.bestSeconds = bestSeconds();
    p.elapsed = elapsed();
    p.fraction = fraction();
    options_.onProgress(p);
}

Result Run::finish(bool exhausted, std::string note) {
    elapsedSeen_ = elapsed();
    reportProgress();
    Result r;
    r.strategy = strategy_;
    r.best.assign(best_.begin(), best_.end());
    best_.clear();
    if (r.best.size() > options_.keepBest)
        r.best.resize(options_.keepBest);
    r.evaluations = evaluations_;
    r.elapsed = elapsedSeen_;
    r.cancelled = cancelled_;
    r.exhausted = exhausted && !cancelled_;
    r.note = std::move(note);
    return r;
}

} // namespace isamap::search::detail
