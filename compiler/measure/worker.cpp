// The measuring worker: a job as text in, a result as text out, in a process of its own so that a
// generated kernel that crashes or hangs cannot take its caller down.
#include "measure/measure.h"

#include "ir/check.h"
#include "ir/parser.h"
#include "ir/printer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <poll.h>
#include <sstream>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace isamap::measure {

namespace {

const char* faultName(codegen::Options::Fault f) {
    switch (f) {
    case codegen::Options::Fault::Crash: return "crash";
    case codegen::Options::Fault::Hang: return "hang";
    case codegen::Options::Fault::None: break;
    }
    return "none";
}

std::string section(const std::string& name, const std::string& body) {
    return name + "\n" + body + (body.empty() || body.back() == '\n' ? "" : "\n") + "end-" + name + "\n";
}

} // namespace

namespace {

std::string jobHeader(const Options& options, const std::string& candidate) {
    std::ostringstream out;
    out.precision(17);
    out << "isamap-job 1\n"
        << "min-runs " << options.minRuns << "\nmin-seconds " << options.minSeconds << "\nflush "
        << options.flushCaches << "\nalternate " << options.alternateSweeps << "\nseed " << options.seed
        << "\ntime-limit " << options.timeLimitSeconds
        << "\nfull-check " << options.fullCheckPoints << "\nsamples " << options.sampledOutputs << "\nthreads "
        << options.codegen.threads << "\nfault " << faultName(options.codegen.fault) << "\nfunction "
        << (options.codegen.functionName.empty() ? "-" : options.codegen.functionName) << "\ncandidate "
        << candidate << "\n";
    return out.str();
}

std::string moduleSection(const ir::Kernel& kernel, const ir::Target& target) {
    ir::Module module;
    module.kernels.push_back(kernel);
    module.targets.push_back(target);
    return section("module", ir::print(module));
}

} // namespace

Job makeJob(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
            const schedule::Space& space, const schedule::Schedule& schedule, const Options& options) {
    return {jobHeader(options, candidate.key) + section("schedule", schedule::printSchedule(space, schedule)) +
            moduleSection(kernel, target)};
}

Job makePairedJob(const ir::Kernel& kernel, const ir::Target& target, const Contender& first, const Contender& second,
                  const Options& options) {
    return {jobHeader(options, first.candidate.key) + section("schedule", schedule::printSchedule(first.space, first.schedule)) +
            "candidate-2 " + second.candidate.key + "\n" +
            section("schedule-2", schedule::printSchedule(second.space, second.schedule)) + moduleSection(kernel, target)};
}

namespace {

struct ParsedJob {
    Options options;
    std::string candidate, schedule, module;
    std::string candidate2, schedule2; // a paired job's second schedule
};

bool parseJob(const std::string& text, ParsedJob& job, std::string& error) {
    std::istringstream in(text);
    std::string line;
    if (!std::getline(in, line) || line != "isamap-job 1") {
        error = "the job does not start with `isamap-job 1`";
        return false;
    }
    auto& o = job.options;
    while (std::getline(in, line)) {
        const auto space = line.find(' ');
        const std::string key = line.substr(0, space);
        const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
        if (key == "schedule" || key == "schedule-2" || key == "module") {
            std::string body;
            while (std::getline(in, line) && line != "end-" + key)
                body += line + "\n";
            (key == "schedule" ? job.schedule : key == "module" ? job.module : job.schedule2) = body;
        } else if (key == "min-runs") o.minRuns = std::stoi(value);
        else if (key == "min-seconds") o.minSeconds = std::stod(value);
        else if (key == "flush") o.flushCaches = value == "1";
        else if (key == "alternate") o.alternateSweeps = value == "1";
        else if (key == "seed") o.seed = std::stoull(value);
        else if (key == "time-limit") o.timeLimitSeconds = std::stod(value);
        else if (key == "full-check") o.fullCheckPoints = std::stoll(value);
        else if (key == "samples") o.sampledOutputs = std::stoi(value);
        else if (key == "threads") o.codegen.threads = std::stoi(value);
        else if (key == "fault")
            o.codegen.fault = value == "crash" ? codegen::Options::Fault::Crash
                              : value == "hang" ? codegen::Options::Fault::Hang
                                                : codegen::Options::Fault::None;
        else if (key == "function") o.codegen.functionName = value == "-" ? "" : value;
        else if (key == "candidate") job.candidate = value;
        else if (key == "candidate-2") job.candidate2 = value;
        else if (!key.empty()) {
            error = "the job has an unknown line: " + line;
            return false;
        }
    }
    return true;
}

// A job's kernel and target, parsed and checked.
struct JobModule {
    ir::Module module;
    std::string error;
};

JobModule parseModule(const ParsedJob& job) {
    const ir::SourceFile source{"job", job.module};
    auto parsed = ir::parse(source);
    auto diagnostics = parsed.diagnostics;
    if (!ir::hasErrors(diagnostics))
        diagnostics = ir::check(parsed.module, source);
    if (ir::hasErrors(diagnostics) || parsed.module.kernels.empty() || parsed.module.targets.empty())
        return {{}, "the job's kernel and target do not parse: " + ir::format(diagnostics)};
    return {std::move(parsed.module), {}};
}

Result runJob(const ParsedJob& job) {
    Result r;
    const auto parsed = parseModule(job);
    if (!parsed.error.empty()) {
        r.message = parsed.error;
        return r;
    }
    const ir::Kernel& kernel = parsed.module.kernels.front();
    const ir::Target& target = parsed.module.targets.front();
    const auto s = resolveSchedule(kernel, target, job.candidate, job.schedule, r.message);
    if (!s) {
        r.message = "the job's schedule: " + r.message;
        return r;
    }
    return measureInProcess(kernel, target, s->candidate, s->space, s->schedule, job.options);
}

Pairing runPairedJob(const ParsedJob& job) {
    Pairing p;
    const auto parsed = parseModule(job);
    if (!parsed.error.empty()) {
        p.first.message = parsed.error;
        return p;
    }
    const ir::Kernel& kernel = parsed.module.kernels.front();
    const ir::Target& target = parsed.module.targets.front();
    const auto a = resolveSchedule(kernel, target, job.candidate, job.schedule, p.first.message);
    if (!a)
        return p;
    const auto b = resolveSchedule(kernel, target, job.candidate2, job.schedule2, p.second.message);
    if (!b)
        return p;
    return compareInProcess(kernel, target, a->contender(), b->contender(), job.options);
}

std::string resultText(const Result& r) {
    std::ostringstream out;
    out.precision(17);
    std::string message = r.message;
    std::replace(message.begin(), message.end(), '\n', ' ');
    out << "status " << statusName(r.status) << "\nmessage " << message << "\nlargest-error " << r.largestError
        << "\ntolerance " << r.tolerance << "\nworst-at " << r.worstAt << "\nchecked " << r.checkedElements
        << "\nsampled " << r.sampled << "\nseconds-median " << r.secondsMedian << "\nseconds-min " << r.secondsMin
        << "\nseconds-max " << r.secondsMax << "\nruns " << r.runs << "\nthreads " << r.threads << "\ngflops "
        << r.gflops << "\npeak-gflops " << r.peakGflops << "\npeak-fraction " << r.peakFraction << "\ncompile-seconds "
        << r.compileSeconds << "\nalternated " << r.alternated << "\nend\n";
    return out.str();
}

bool parseResult(const std::string& text, Result& r) {
    std::istringstream in(text);
    std::string line;
    bool ended = false;
    while (std::getline(in, line)) {
        const auto space = line.find(' ');
        const std::string key = line.substr(0, space);
        const std::string value = space == std::string::npos ? "" : line.substr(space + 1);
        auto number = [&] { return std::strtod(value.c_str(), nullptr); };
        if (key == "status") {
            for (Status s : {Status::Ok, Status::Mismatch, Status::Error, Status::Crashed, Status::TimedOut})
                if (value == statusName(s))
                    r.status = s;
        } else if (key == "message") r.message = value;
        else if (key == "largest-error") r.largestError = number();
        else if (key == "tolerance") r.tolerance = number();
        else if (key == "worst-at") r.worstAt = value;
        else if (key == "checked") r.checkedElements = static_cast<std::int64_t>(number());
        else if (key == "sampled") r.sampled = value == "1";
        else if (key == "seconds-median") r.secondsMedian = number();
        else if (key == "seconds-min") r.secondsMin = number();
        else if (key == "seconds-max") r.secondsMax = number();
        else if (key == "runs") r.runs = static_cast<int>(number());
        else if (key == "threads") r.threads = static_cast<int>(number());
        else if (key == "gflops") r.gflops = number();
        else if (key == "peak-gflops") r.peakGflops = number();
        else if (key == "peak-fraction") r.peakFraction = number();
        else if (key == "compile-seconds") r.compileSeconds = number();
        else if (key == "alternated") r.alternated = number() != 0;
        else if (key == "end") ended = true;
    }
    return ended;
}

// A paired job's reply: the first result, the second, then the pairs' ratios.
std::string pairingText(const Pairing& p) {
    std::ostringstream out;
    out.precision(17);
    out << resultText(p.first) << resultText(p.second) << "pairs " << p.pairs << "\nratio-median " << p.ratioMedian
        << "\nratio-low " << p.ratioLow << "\nratio-high " << p.ratioHigh << "\nend-pairing\n";
    return out.str();
}

bool parsePairing(const std::string& text, Pairing& p) {
    const std::string end = "\nend\n";
    const auto firstEnd = text.find(end);
    const auto secondEnd = firstEnd == std::string::npos ? firstEnd : text.find(end, firstEnd + end.size());
    if (secondEnd == std::string::npos || !parseResult(text.substr(0, firstEnd + end.size()), p.first) ||
        !parseResult(text.substr(firstEnd + end.size(), secondEnd + end.size() - firstEnd - end.size()), p.second))
        return false;
    std::istringstream in(text.substr(secondEnd + end.size()));
    std::string key;
    double value = 0;
    bool ended = false;
    while (in >> key) {
        if (key == "end-pairing") {
            ended = true;
            break;
        }
        in >> value;
        if (key == "pairs") p.pairs = static_cast<int>(value);
        else if (key == "ratio-median") p.ratioMedian = value;
        else if (key == "ratio-low") p.ratioLow = value;
        else if (key == "ratio-high") p.ratioHigh = value;
    }
    return ended;
}

bool writeAll(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

int serveWorker(std::FILE* in, std::FILE* out) {
    std::string text;
    char buffer[65536];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0;)
        text.append(buffer, n);
    ParsedJob job;
    Result r;
    if (!parseJob(text, job, r.message)) {
        std::fputs(resultText(r).c_str(), out);
        return 1;
    }
    if (!job.schedule2.empty()) {
        const Pairing p = runPairedJob(job);
        std::fputs(pairingText(p).c_str(), out);
        std::fflush(out);
        return p.ok() ? 0 : 1;
    }
    r = runJob(job);
    std::fputs(resultText(r).c_str(), out);
    std::fflush(out);
    return r.status == Status::Ok ? 0 : 1;
}

namespace {

// Runs a job in a worker process and collects its reply. A signal or the time limit is put in `r`
// (Crashed, TimedOut), as is a worker that cannot be started; `reply` is empty then.
bool runWorker(const std::string& workerExecutable, const Job& job, std::string& reply, int& exitStatus, Result& r) {
    ParsedJob parsed;
    if (!parseJob(job.text, parsed, r.message))
        return false;
    int toWorker[2], fromWorker[2];
    if (::pipe2(toWorker, O_CLOEXEC) != 0 || ::pipe2(fromWorker, O_CLOEXEC) != 0) {
        r.message = std::string("cannot create a pipe: ") + std::strerror(errno);
        return false;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, toWorker[0], 0);
    posix_spawn_file_actions_adddup2(&actions, fromWorker[1], 1);
    std::string command = "worker";
    char* argv[] = {const_cast<char*>(workerExecutable.c_str()), command.data(), nullptr};
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, workerExecutable.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(toWorker[0]);
    ::close(fromWorker[1]);
    if (spawned != 0) {
        ::close(toWorker[1]);
        ::close(fromWorker[0]);
        r.message = "cannot start the measuring worker " + workerExecutable + ": " + std::strerror(spawned);
        return false;
    }
    std::signal(SIGPIPE, SIG_IGN); // a worker that dies early must not take this process with it
    writeAll(toWorker[1], job.text);
    ::close(toWorker[1]);

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(parsed.options.timeLimitSeconds);
    bool timedOut = false;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timedOut = true;
            break;
        }
        pollfd p{fromWorker[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            continue;
        char buffer[4096];
        const ssize_t n = ::read(fromWorker[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fromWorker[0]);
    if (timedOut)
        ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timedOut) {
        r.status = Status::TimedOut;
        r.message = "the measurement did not finish within " + std::to_string(static_cast<int>(parsed.options.timeLimitSeconds)) +
                    " s; the worker was stopped (a generated kernel that does not terminate?)";
        return false;
    }
    if (WIFSIGNALED(status)) {
        r.status = Status::Crashed;
        r.message = "the generated kernel crashed the worker: signal " + std::to_string(WTERMSIG(status)) + " (" +
                    strsignal(WTERMSIG(status)) + ")";
        return false;
    }
    exitStatus = WEXITSTATUS(status);
    return true;
}

std::string noResult(int exitStatus) {
    return "the measuring worker exited (status " + std::to_string(exitStatus) + ") without a result";
}

} // namespace

Result measureInWorker(const std::string& workerExecutable, const Job& job) {
    Result r;
    std::string reply;
    int exitStatus = 0;
    if (runWorker(workerExecutable, job, reply, exitStatus, r) && !parseResult(reply, r)) {
        r.status = Status::Error;
        r.message = noResult(exitStatus);
    }
    return r;
}

Pairing compareInWorker(const std::string& workerExecutable, const Job& job) {
    Pairing p;
    std::string reply;
    int exitStatus = 0;
    if (runWorker(workerExecutable, job, reply, exitStatus, p.first) && !parsePairing(reply, p)) {
        p = Pairing{};
        p.first.message = noResult(exitStatus);
    }
    return p;
}

} // namespace isamap::measure
