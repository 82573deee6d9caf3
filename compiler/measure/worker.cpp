// The measuring worker: a job as text in, a result as text out, in a process of its own so that a
// generated kernel that crashes or hangs cannot take its caller down.
#include "measure/measure.h"

#include "ir/check.h"
#include "ir/parser.h"
#include "ir/printer.h"

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

Job makeJob(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
            const schedule::Space& space, const schedule::Schedule& schedule, const Options& options) {
    std::ostringstream out;
    out.precision(17);
    out << "isamap-job 1\n"
        << "min-runs " << options.minRuns << "\nmin-seconds " << options.minSeconds << "\nflush "
        << options.flushCaches << "\nseed " << options.seed << "\ntime-limit " << options.timeLimitSeconds
        << "\nfull-check " << options.fullCheckPoints << "\nsamples " << options.sampledOutputs << "\nthreads "
        << options.codegen.threads << "\nfault " << faultName(options.codegen.fault) << "\nfunction "
        << (options.codegen.functionName.empty() ? "-" : options.codegen.functionName) << "\ncandidate "
        << candidate.key << "\n";
    out << section("schedule", schedule::printSchedule(space, schedule));
    ir::Module module;
    module.kernels.push_back(kernel);
    module.targets.push_back(target);
    out << section("module", ir::print(module));
    return {out.str()};
}

namespace {

struct ParsedJob {
    Options options;
    std::string candidate, schedule, module;
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
        if (key == "schedule" || key == "module") {
            std::string body;
            while (std::getline(in, line) && line != "end-" + key)
                body += line + "\n";
            (key == "schedule" ? job.schedule : job.module) = body;
        } else if (key == "min-runs") o.minRuns = std::stoi(value);
        else if (key == "min-seconds") o.minSeconds = std::stod(value);
        else if (key == "flush") o.flushCaches = value == "1";
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
        else if (!key.empty()) {
            error = "the job has an unknown line: " + line;
            return false;
        }
    }
    return true;
}

Result runJob(const ParsedJob& job) {
    Result r;
    const ir::SourceFile source{"job", job.module};
    auto parsed = ir::parse(source);
    auto diagnostics = parsed.diagnostics;
    if (!ir::hasErrors(diagnostics))
        diagnostics = ir::check(parsed.module, source);
    if (ir::hasErrors(diagnostics) || parsed.module.kernels.empty() || parsed.module.targets.empty()) {
        r.message = "the job's kernel and target do not parse: " + ir::format(diagnostics);
        return r;
    }
    const ir::Kernel& kernel = parsed.module.kernels.front();
    const ir::Target& target = parsed.module.targets.front();
    const auto mapped = mapping::mapKernel(kernel, target);
    const auto candidate = std::find_if(mapped.candidates.begin(), mapped.candidates.end(),
                                        [&](const mapping::Candidate& c) { return c.valid && c.key == job.candidate; });
    if (candidate == mapped.candidates.end()) {
        r.message = "no valid candidate `" + job.candidate + "` for kernel " + kernel.name + " on " + target.name;
        return r;
    }
    std::string error;
    auto space = schedule::makeSpace(kernel, target, *candidate, error);
    if (!space) {
        r.message = error;
        return r;
    }
    auto s = schedule::parseSchedule(*space, job.schedule, error);
    if (!s) {
        r.message = "the job's schedule does not parse: " + error;
        return r;
    }
    return measureInProcess(kernel, target, *candidate, *space, *s, job.options);
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
        << r.compileSeconds << "\nend\n";
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
        else if (key == "end") ended = true;
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
    r = runJob(job);
    std::fputs(resultText(r).c_str(), out);
    std::fflush(out);
    return r.status == Status::Ok ? 0 : 1;
}

Result measureInWorker(const std::string& workerExecutable, const Job& job) {
    Result r;
    ParsedJob parsed;
    if (!parseJob(job.text, parsed, r.message))
        return r;
    int toWorker[2], fromWorker[2];
    if (::pipe2(toWorker, O_CLOEXEC) != 0 || ::pipe2(fromWorker, O_CLOEXEC) != 0) {
        r.message = std::string("cannot create a pipe: ") + std::strerror(errno);
        return r;
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
        return r;
    }
    std::signal(SIGPIPE, SIG_IGN); // a worker that dies early must not take this process with it
    writeAll(toWorker[1], job.text);
    ::close(toWorker[1]);

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(parsed.options.timeLimitSeconds);
    std::string reply;
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
        return r;
    }
    if (WIFSIGNALED(status)) {
        r.status = Status::Crashed;
        r.message = "the generated kernel crashed the worker: signal " + std::to_string(WTERMSIG(status)) + " (" +
                    strsignal(WTERMSIG(status)) + ")";
        return r;
    }
    if (!parseResult(reply, r)) {
        r.status = Status::Error;
        r.message = "the measuring worker exited (status " + std::to_string(WEXITSTATUS(status)) + ") without a result";
    }
    return r;
}

} // namespace isamap::measure
