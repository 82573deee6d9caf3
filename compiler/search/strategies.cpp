// The sampling strategies (random, beam, simulated annealing, evolutionary) and the names that make
// them. Each starts from the constrained default schedule, so none returns worse than it when it is
// legal, and stops at the Run's word (budget or cancel).
#include "search/run.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

namespace isamap::search {

namespace detail {

namespace {

using schedule::Schedule;

struct Member {
    Schedule schedule;
    double seconds = 0;
};

bool faster(const Member& a, const Member& b) { return a.seconds < b.seconds; }

// The indices of `members`, fastest first (ties in their order). A member holds a whole schedule, about
// a kilobyte inline, so sorting the members themselves would copy that at every step of the sort.
std::vector<std::size_t> fastestFirst(const std::vector<Member>& members) {
    std::vector<std::size_t> order(members.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&members](std::size_t a, std::size_t b) { return faster(members[a], members[b]); });
    return order;
}

double total(const std::vector<Member>& members) {
    double sum = 0;
    for (const auto& m : members)
        sum += m.seconds;
    return sum;
}

// A space of one point has nothing to search: evaluate it and say the space is exhausted.
bool singlePoint(Run& run) {
    if (spaceSize(run.choices()) > 1)
        return false;
    if (!run.done())
        run.evaluate(run.choices().base);
    return true;
}

// A random legal proposal, constrained, with its modeled seconds (kRejected when it is not legal).
Member sample(Run& run) {
    Member m{randomSchedule(run.space(), run.choices(), run.rng())};
    run.constrain(m.schedule);
    m.seconds = run.evaluate(m.schedule);
    return m;
}

class RandomSearch : public Strategy {
public:
    std::string name() const override { return "random"; }

    Result run(const schedule::Space& space, const Options& options) override {
        Run run(space, options, name());
        if (singlePoint(run))
            return run.finish(true);
        if (!run.done())
            run.evaluate(run.choices().base);
        while (!run.done())
            sample(run);
        return run.finish();
    }
};

// Beam search: the kWidth best schedules so far, each round replaced by the best of them and all their
// neighbours. When a round brings nothing better, the beam restarts around the best schedule (a few
// random moves away) and from random points, so that a long budget keeps exploring. A proposal seen
// before is counted but not evaluated again; in a small (say, tightly constrained) space the beam ends
// once kGiveUp proposals in a row were all seen before.
class Beam : public Strategy {
public:
    std::string name() const override { return "beam"; }

    Result run(const schedule::Space& space, const Options& options) override {
        Run run(space, options, name());
        visited_.clear(); // a second run of the same object starts afresh
        repeats_ = 0;
        if (singlePoint(run))
            return run.finish(true);
        std::vector<Member> beam;
        propose(run, run.choices().base, beam);
        restart(run, beam);
        while (!run.done()) {
            if (repeats_ > kGiveUp)
                return run.finish(false, "no schedule near the beam is left unvisited");
            std::vector<Member> pool = beam;
            for (const Member& m : beam)
                for (auto& n : neighbours(run.choices(), m.schedule)) {
                    if (run.done())
                        break;
                    propose(run, std::move(n), pool);
                }
            std::vector<Member> kept;
            for (std::size_t i : fastestFirst(pool)) {
                if (kept.size() == kWidth)
                    break;
                kept.push_back(std::move(pool[i]));
            }
            // The kept are the best of the old beam and the new points: the same total means none entered.
            const bool improved = kept.size() > beam.size() || total(kept) < total(beam);
            beam = std::move(kept);
            if (!improved)
                restart(run, beam);
        }
        return run.finish();
    }

private:
    static constexpr std::size_t kWidth = 16;
    static constexpr std::size_t kVisitedCap = std::size_t{1} << 20; // about 40 MB of hashes
    static constexpr std::int64_t kGiveUp = 100000;                  // proposals in a row already visited

    // Evaluates a schedule not visited before; a legal one joins `into`.
    void propose(Run& run, Schedule s, std::vector<Member>& into) {
        run.constrain(s);
        if (visited_.size() >= kVisitedCap)
            visited_.clear(); // forgetting costs a few repeated evaluations, not correctness
        if (!visited_.insert(hashOf(s)).second) {
            run.count();
            ++repeats_;
            return;
        }
        repeats_ = 0;
        const double seconds = run.evaluate(s);
        if (seconds < kRejected)
            into.push_back({std::move(s), seconds});
    }

    // Keeps the best member and fills the beam with points a few moves from it and random ones.
    void restart(Run& run, std::vector<Member>& beam) {
        std::vector<Member> fresh;
        if (!beam.empty())
            fresh.push_back(beam.front());
        for (std::size_t tries = 0; fresh.size() < kWidth && tries < 4 * kWidth && !run.done(); ++tries) {
            Schedule s = fresh.empty() || tries % 2 ? randomSchedule(run.space(), run.choices(), run.rng())
                                                    : fresh.front().schedule;
            if (!fresh.empty() && tries % 2 == 0)
                for (std::size_t moves = 2 + pick(run.rng(), 4); moves-- > 0;)
                    mutate(run.choices(), s, run.rng());
            propose(run, std::move(s), fresh);
        }
        beam = std::move(fresh);
    }

    std::unordered_set<std::uint64_t> visited_;
    std::int64_t repeats_ = 0;
};

// Simulated annealing over random moves. A worse proposal is accepted with probability
// exp(-ln(worse/current) / T): relative, since modeled times span orders of magnitude between spaces.
// T falls geometrically from kHot to kCold over the budget.
class Annealing : public Strategy {
public:
    std::string name() const override { return "annealing"; }

    Result run(const schedule::Space& space, const Options& options) override {
        Run run(space, options, name());
        if (singlePoint(run))
            return run.finish(true);
        Member current{run.choices().base};
        current.seconds = run.done() ? kRejected : run.evaluate(current.schedule);
        while (current.seconds == kRejected && !run.done())
            current = sample(run);
        while (!run.done()) {
            Schedule proposal = current.schedule;
            mutate(run.choices(), proposal, run.rng());
            while (pick(run.rng(), 4) == 0) // now and then a bigger step
                mutate(run.choices(), proposal, run.rng());
            run.constrain(proposal);
            const double seconds = run.evaluate(proposal);
            if (seconds == kRejected)
                continue;
            const double temperature = kHot * std::pow(kCold / kHot, run.fraction());
            if (seconds <= current.seconds ||
                unit(run.rng()) < std::exp(-std::log(seconds / current.seconds) / temperature))
                current = {std::move(proposal), seconds};
        }
        return run.finish();
    }

private:
    static constexpr double kHot = 0.2;    // a 20% worse proposal accepted about 40% of the time
    static constexpr double kCold = 0.002; // a 1% worse one almost never
};

// Evolutionary search: a population of kPopulation legal schedules; each generation makes as many
// children (two parents picked by tournaments, crossed over, mutated) and keeps the best distinct
// kPopulation of parents and children.
class Evolutionary : public Strategy {
public:
    std::string name() const override { return "evolutionary"; }

    Result run(const schedule::Space& space, const Options& options) override {
        Run run(space, options, name());
        if (singlePoint(run))
            return run.finish(true);
        std::vector<Member> population;
        if (!run.done()) {
            Member base{run.choices().base};
            base.seconds = run.evaluate(base.schedule);
            if (base.seconds < kRejected)
                population.push_back(std::move(base));
        }
        for (std::size_t tries = 0; population.size() < kPopulation && tries < 4 * kPopulation && !run.done(); ++tries)
            if (Member m = sample(run); m.seconds < kRejected)
                population.push_back(std::move(m));
        while (!run.done()) {
            if (population.empty()) { // nothing legal found yet: keep sampling
                if (Member m = sample(run); m.seconds < kRejected)
                    population.push_back(std::move(m));
                continue;
            }
            std::vector<Member> next = population;
            for (std::size_t i = 0; i < kPopulation && !run.done(); ++i) {
                // Two statements: the order in which a call's arguments draw from the generator is unspecified.
                const Schedule& mother = tournament(run, population);
                const Schedule& father = tournament(run, population);
                Member child{crossover(run.choices(), mother, father, run.rng())};
                do
                    mutate(run.choices(), child.schedule, run.rng());
                while (pick(run.rng(), 3) == 0);
                run.constrain(child.schedule);
                child.seconds = run.evaluate(child.schedule);
                if (child.seconds < kRejected)
                    next.push_back(std::move(child));
            }
            population = survivors(std::move(next));
        }
        return run.finish();
    }

private:
    static constexpr std::size_t kPopulation = 64;
    static constexpr std::size_t kTournament = 3;

    static const Schedule& tournament(Run& run, const std::vector<Member>& population) {
        const Member* winner = &population[pick(run.rng(), population.size())];
        for (std::size_t i = 1; i < kTournament; ++i) {
            const Member& other = population[pick(run.rng(), population.size())];
            if (other.seconds < winner->seconds)
                winner = &other;
        }
        return winner->schedule;
    }

    // The best distinct members: duplicates would let one schedule take over the population.
    static std::vector<Member> survivors(std::vector<Member> all) {
        std::vector<Member> kept;
        std::unordered_set<std::uint64_t> seen;
        for (std::size_t i : fastestFirst(all))
            if (kept.size() < kPopulation && seen.insert(hashOf(all[i].schedule)).second)
                kept.push_back(std::move(all[i]));
        return kept;
    }
};

} // namespace

std::unique_ptr<Strategy> makeRandom() { return std::make_unique<RandomSearch>(); }
std::unique_ptr<Strategy> makeBeam() { return std::make_unique<Beam>(); }
std::unique_ptr<Strategy> makeAnnealing() { return std::make_unique<Annealing>(); }
std::unique_ptr<Strategy> makeEvolutionary() { return std::make_unique<Evolutionary>(); }

} // namespace detail

std::vector<std::string> strategyNames() { return {"exhaustive", "random", "beam", "annealing", "evolutionary"}; }

std::unique_ptr<Strategy> makeStrategy(const std::string& name, std::string& error) {
    if (name == "exhaustive")
        return detail::makeExhaustive();
    if (name == "random")
        return detail::makeRandom();
    if (name == "beam")
        return detail::makeBeam();
    if (name == "annealing")
        return detail::makeAnnealing();
    if (name == "evolutionary")
        return detail::makeEvolutionary();
    std::string known;
    for (const auto& n : strategyNames())
        known += (known.empty() ? "" : ", ") + n;
    error = "unknown search strategy '" + name + "'; the strategies are " + known;
    return nullptr;
}

std::vector<Evaluated> spreadSample(const schedule::Space& space, std::size_t count, std::uint64_t seed,
                                    std::int64_t evaluations, const std::atomic<bool>* cancel) {
    Options options;
    options.seed = seed;
    options.budget.evaluations = evaluations;
    options.keepBest = static_cast<std::size_t>(evaluations);
    options.cancel = cancel;
    const auto found = detail::makeRandom()->run(space, options).best; // best first
    if (found.size() <= count)
        return found;
    std::vector<Evaluated> out;
    for (std::size_t i = 0; i < count; ++i)
        out.push_back(found[count > 1 ? i * (found.size() - 1) / (count - 1) : 0]);
    return out;
}

} // namespace isamap::search
