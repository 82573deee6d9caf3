// The project database: everything a person's work produces — kernels, targets, mapping candidates,
// search runs, the schedules they found and the measurements of those schedules — kept in ONE SQLite
// file (extension `.isamap`).
//
//   std::string error;
//   auto project = store::Project::open("gemm.isamap", error);   // creates it when missing
//   if (!project) { report(error); return; }       // "gemm.isamap is not an ISA Mapper project (...)"
//   auto kernel = project->addKernel("gemm", ir::print(k), error);  // the same text again: the same id
//   auto target = project->addTarget("nnp-like", ir::print(t), error);
//   auto run = project->startRun({.kernelId = *kernel, .targetId = *target, .strategy = "random"}, error);
//   project->addSchedules(found, error);                            // one transaction for a batch
//   project->finishRun(*run, "finished", error);
//   auto fastest = project->schedules({.runId = *run, .limit = 10}, error);  // by modeled time
//
// Durability: every write is a transaction of its own, committed before the call returns, in WAL mode
// with synchronous=FULL. A process that is killed, or a machine that loses power, loses at most the
// transaction in flight; everything a call reported as written is there when the file is opened again.
//
// Safety of what is not ours: open() reads a file before it writes it. A file that is not an SQLite
// database, an SQLite database of another program, or a project written by a newer version of this
// program is refused with a message, and the file is left byte for byte as it was.
//
// Errors are values: each call returns an empty optional or false and sets `error` to a message that
// names the file and what failed. Nothing throws.
//
// Threads and processes: a Project is one SQLite connection; use it from one thread at a time. Other
// threads or processes open their own Project on the same file: readers run while one writer writes,
// and a writer waits up to five seconds for another to finish before giving up with an error.
// A moved-from Project may only be assigned to or destroyed.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace isamap::store {

// Ids are SQLite row ids: positive, assigned by the project, never reused within a file.

struct KernelRecord {
    std::int64_t id = 0;
    std::string name;
    std::string text; // the kernel's canonical text (ir::print)
};

struct TargetRecord {
    std::int64_t id = 0;
    std::string name;
    std::string text; // the target's canonical text (ir::print)
};

// One mapping candidate, valid or rejected, as the mapper reported it.
struct CandidateRecord {
    std::int64_t id = 0;
    std::int64_t kernelId = 0;
    std::int64_t targetId = 0;
    std::string key; // the binding in words; unique per kernel and target
    bool valid = false;
    double utilisation = 0;
    std::string json; // the whole candidate, as the command line's --json prints it
};

// One run of a search strategy over the schedules of a kernel on a target.
struct SearchRun {
    std::int64_t id = 0;
    std::int64_t kernelId = 0;
    std::int64_t targetId = 0;
    std::string strategy; // "exhaustive", "random", "beam", "annealing", ...
    std::uint64_t seed = 0;
    std::string budget;             // as the person gave it, e.g. "evaluations=1000"
    std::string constraints;        // the constraints' text, as the person gave them
    std::string status = "running"; // running, finished, cancelled or failed
    std::int64_t evaluations = 0;
    double bestSeconds = std::numeric_limits<double>::infinity(); // infinity until a schedule is modeled
    std::string started;  // UTC, ISO 8601 ("2024-05-01T12:00:00.000Z"); set by startRun when empty
    std::string finished; // set by finishRun; empty while running
};

// A schedule with its modeled time and what bounds it.
struct ScheduleRecord {
    std::int64_t id = 0;
    std::int64_t runId = 0; // the search run that found it; 0 for a schedule made by hand
    std::int64_t kernelId = 0;
    std::int64_t targetId = 0;
    std::string candidateKey; // the mapping candidate it schedules
    std::string text;         // the schedule's text
    double modeledSeconds = 0;
    std::string bound;         // one line: what bounds it ("bandwidth-bound on hbm")
    std::string breakdownJson; // the cost model's figures
};

// A measurement of a schedule: run on the host CPU, or in the simulator for a virtual target.
struct Measurement {
    std::int64_t id = 0;
    std::int64_t scheduleId = 0;
    std::string kind;   // "host" or "simulator"
    double seconds = 0; // the median
    double spread = 0;
    std::string detail;
};

// Which schedules to list. Zero means "any"; the list is ordered by modeled time, fastest first.
struct ScheduleFilter {
    std::int64_t runId = 0;
    std::int64_t kernelId = 0;
    std::int64_t targetId = 0;
    int limit = 0; // the fastest `limit` only; 0 for all
};

class Project {
public:
    // Opens the project at `path`, or creates it when there is no file there (or an empty one).
    // Refuses, with the file untouched: a file that is not an SQLite database, an SQLite database of
    // another program, a project of a newer schema than this program reads. Brings a project of an
    // older schema up to date.
    static std::optional<Project> open(const std::string& path, std::string& error);

    // The schema version this program writes and reads up to.
    static int currentSchemaVersion();

    ~Project();
    Project(Project&&) noexcept;
    Project& operator=(Project&&) noexcept;
    Project(const Project&) = delete;
    Project& operator=(const Project&) = delete;

    const std::string& path() const;
    int schemaVersion() const; // the file's, which open() has made the current one

    // The id of the kernel (target) with this name and text, added when it is not there yet.
    std::optional<std::int64_t> addKernel(const std::string& name, const std::string& text,
                                          std::string& error);
    std::optional<std::int64_t> addTarget(const std::string& name, const std::string& text,
                                          std::string& error);
    std::optional<std::vector<KernelRecord>> kernels(std::string& error) const;
    std::optional<std::vector<TargetRecord>> targets(std::string& error) const;

    // Stores the mapper's candidates for a kernel on a target in one transaction (the records' own
    // kernelId and targetId are ignored). A candidate whose key is already stored for them is
    // replaced, keeping its id. Gives the ids in the order of `candidates`.
    std::optional<std::vector<std::int64_t>> addCandidates(std::int64_t kernelId, std::int64_t targetId,
                                                           const std::vector<CandidateRecord>& candidates,
                                                           std::string& error);
    // In the order they were first stored.
    std::optional<std::vector<CandidateRecord>> candidates(std::int64_t kernelId, std::int64_t targetId,
                                                           std::string& error) const;

    // Records a run as it starts (its id is ignored; `started` is now when empty) and gives its id.
    std::optional<std::int64_t> startRun(const SearchRun& run, std::string& error);
    // Progress while running.
    bool updateRun(std::int64_t runId, const std::string& status, std::int64_t evaluations,
                   double bestSeconds, std::string& error);
    // The end: status is finished, cancelled or failed; `finished` becomes now.
    bool finishRun(std::int64_t runId, const std::string& status, std::string& error);
    std::optional<SearchRun> run(std::int64_t runId, std::string& error) const;
    std::optional<std::vector<SearchRun>> runs(std::string& error) const; // oldest first

    // One schedule, committed at once. Gives its id.
    std::optional<std::int64_t> addSchedule(const ScheduleRecord& schedule, std::string& error);
    // A batch (a search's results), all or none in one transaction. Gives the ids in order.
    std::optional<std::vector<std::int64_t>> addSchedules(const std::vector<ScheduleRecord>& schedules,
                                                          std::string& error);
    std::optional<ScheduleRecord> schedule(std::int64_t scheduleId, std::string& error) const;
    std::optional<std::vector<ScheduleRecord>> schedules(const ScheduleFilter& filter,
                                                         std::string& error) const;

    std::optional<std::int64_t> addMeasurement(const Measurement& measurement, std::string& error);
    std::optional<std::vector<Measurement>> measurements(std::int64_t scheduleId,
                                                         std::string& error) const; // oldest first

private:
    struct Impl;
    explicit Project(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace isamap::store
