#include "store/project.h"

#include "store/schema.h"
#include "store/sql.h"

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace isamap::store {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------------
// Opening: look at the file without writing it, and only then open it for writing.

namespace {

enum class FileKind { New, SqliteDatabase };

// What is at `path`, judged from its first bytes alone: nothing (or an empty file) we may create a
// project in, or something that at least claims to be an SQLite database.
std::optional<FileKind> inspectFile(const std::string& path, std::string& error) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (status.type() == fs::file_type::not_found)
        return FileKind::New;
    if (status.type() == fs::file_type::directory) {
        error = path + " is a folder, not an ISA Mapper project";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::array<char, 16> header{};
    in.read(header.data(), header.size());
    if (in.gcount() == 0)
        return FileKind::New; // an empty file: SQLite treats it as an empty database too
    static constexpr char kMagic[16] = "SQLite format 3"; // with its terminating NUL: 16 bytes
    if (in.gcount() < 16 || std::memcmp(header.data(), kMagic, 16) != 0) {
        error = path + " is not an ISA Mapper project (not an SQLite database)";
        return std::nullopt;
    }
    return FileKind::SqliteDatabase;
}

// An SQLite URI for `path`, so that no character of a file name is ever read as URI syntax.
std::string uriFor(const std::string& path, const char* query) {
    std::error_code ec;
    const std::string absolute = fs::absolute(path, ec).string();
    std::string uri = "file://";
    for (unsigned char c : ec ? path : absolute) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           (c != 0 && std::strchr("/._~-", c));
        if (plain) {
            uri += static_cast<char>(c);
        } else {
            char escaped[4];
            std::snprintf(escaped, sizeof escaped, "%%%02X", c);
            uri += escaped;
        }
    }
    return *query ? uri + "?" + query : uri;
}

// Reads the file's identity through a read-only connection and says whether we may open it for
// writing. Without a write-ahead log beside the file, the file alone is the whole database and is
// read as immutable, which creates no -wal or -shm files next to it; with one, SQLite must read the
// log too (it already has its companions, so nothing new appears either).
bool acceptedForWriting(const std::string& path, std::string& error) {
    const bool hasLog = fs::exists(path + "-wal");
    std::string why;
    auto reader = sql::open(uriFor(path, hasLog ? "mode=ro" : "immutable=1"),
                            SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, why);
    // Reading beside a log may meet another connection's lock (a writer's commit or checkpoint):
    // wait for it as every other connection does, rather than refuse the file as locked.
    if (reader)
        sqlite3_busy_timeout(reader->get(), 5000);
    const auto identity = reader ? schema::readIdentity(reader->get(), why) : std::nullopt;
    if (!identity) {
        error = path + " cannot be read as an ISA Mapper project: " + why;
        return false;
    }
    error = schema::refusal(*identity, path);
    return error.empty();
}

// Settings of the connection itself (nothing written to the file): wait for a busy file rather than
// fail at once, and have SQLite enforce the references between records.
bool prepareConnection(sqlite3* db, const std::string& path, std::string& error) {
    sqlite3_busy_timeout(db, 5000);
    if (!sql::exec(db, "PRAGMA foreign_keys = ON", error)) {
        error = path + ": cannot turn on foreign keys: " + error;
        return false;
    }
    return true;
}

// Write-ahead logging: a commit appends to the log, so readers (the studio's views) never block the
// writer (a search), and a killed writer leaves the file as of its last commit. synchronous=FULL
// syncs the log at each commit, so a commit survives even a power cut, not only a killed process.
bool enableWriteAheadLog(sqlite3* db, const std::string& path, std::string& error) {
    sql::Statement journal(db, "PRAGMA journal_mode = WAL");
    const std::string mode = journal.next() ? journal.text(0) : std::string();
    journal.run();
    if (mode != "wal") {
        error = path + ": cannot switch to write-ahead logging" +
                (journal.failed() ? ": " + journal.error() : " (journal mode stays '" + mode + "')");
        return false;
    }
    if (!sql::exec(db, "PRAGMA synchronous = FULL", error)) {
        error = path + ": cannot set synchronous commits: " + error;
        return false;
    }
    return true;
}

} // namespace

// ---------------------------------------------------------------------------------------------------

struct Project::Impl {
    std::string path;
    sql::Connection connection;

    sqlite3* db() const { return connection.get(); }

    // Runs `body` (which returns false with `why` set on failure) in one write transaction.
    // On failure `error` says "PATH: cannot DOING: WHY" and nothing of the transaction remains.
    template <typename Body> bool write(const std::string& doing, std::string& error, Body&& body) {
        sql::Transaction transaction(db());
        std::string why;
        if (transaction.begun(why) && body(why) && transaction.commit(why))
            return true;
        error = path + ": cannot " + doing + ": " + why;
        return false;
    }

    // All rows of a query, each read by `read`.
    template <typename Record, typename Read>
    std::optional<std::vector<Record>> readAll(sql::Statement& query, Read read, const std::string& doing,
                                               std::string& error) const {
        std::vector<Record> records;
        while (query.next())
            records.push_back(read(query));
        if (query.failed()) {
            error = path + ": cannot " + doing + ": " + query.error();
            return std::nullopt;
        }
        return records;
    }

    // The one row of a query by id; `what` names it in the message when there is none.
    template <typename Record, typename Read>
    std::optional<Record> readOne(sql::Statement& query, Read read, const std::string& what,
                                  std::string& error) const {
        auto all = readAll<Record>(query, read, "read " + what, error);
        if (all && all->empty())
            error = path + ": there is no " + what;
        if (!all || all->empty())
            return std::nullopt;
        return all->front();
    }
};

Project::Project(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Project::~Project() = default;
Project::Project(Project&&) noexcept = default;
Project& Project::operator=(Project&&) noexcept = default;

std::optional<Project> Project::open(const std::string& path, std::string& error) {
    const auto kind = inspectFile(path, error);
    if (!kind)
        return std::nullopt;
    if (*kind == FileKind::SqliteDatabase && !acceptedForWriting(path, error))
        return std::nullopt;
    // A new file is created here; an existing one must still be there (no CREATE), as inspected.
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | (*kind == FileKind::New ? SQLITE_OPEN_CREATE : 0);
    std::string why;
    auto connection = sql::open(uriFor(path, ""), flags, why);
    if (!connection) {
        error = "cannot open " + path + " for writing: " + why;
        return std::nullopt;
    }
    sqlite3* db = connection->get();
    if (!prepareConnection(db, path, error) || !schema::migrate(db, path, error) ||
        !enableWriteAheadLog(db, path, error))
        return std::nullopt;
    return Project(std::make_unique<Impl>(Impl{path, std::move(*connection)}));
}

int Project::currentSchemaVersion() {
    return schema::kCurrentVersion;
}

const std::string& Project::path() const {
    return impl_->path;
}

int Project::schemaVersion() const {
    return schema::kCurrentVersion;
}

// ---------------------------------------------------------------------------------------------------
// Helpers for records.

namespace {

// SQLite's reason, in the project's words where SQLite's are cryptic.
std::string reason(const sql::Statement& statement) {
    if (statement.code() == SQLITE_CONSTRAINT_FOREIGNKEY)
        return "it refers to a kernel, target, search run or schedule that is not in the project (" +
               statement.error() + ")";
    return statement.error();
}

// Runs an INSERT ... RETURNING id and gives the id.
std::optional<std::int64_t> insertedId(sql::Statement& insert, std::string& why) {
    std::optional<std::int64_t> id;
    if (insert.next())
        id = insert.integer(0);
    if (!insert.run() || !id) {
        why = insert.failed() ? reason(insert) : "the row was not stored";
        return std::nullopt;
    }
    return id;
}

// An UPDATE of one row by id: fails when there is no such row.
bool updatedOne(sqlite3* db, sql::Statement& update, const std::string& what, std::string& why) {
    if (!update.run()) {
        why = reason(update);
        return false;
    }
    if (sqlite3_changes(db) != 1) {
        why = "there is no " + what;
        return false;
    }
    return true;
}

// SQLite turns a NaN into NULL; store "none yet" (an infinite time) as NULL on purpose.
std::optional<double> finiteOrNull(double seconds) {
    return std::isfinite(seconds) ? std::optional<double>(seconds) : std::nullopt;
}

double nullAsInfinity(const sql::Statement& row, int column) {
    return row.isNull(column) ? std::numeric_limits<double>::infinity() : row.real(column);
}

bool isRunStatus(const std::string& status) {
    return status == "running" || status == "finished" || status == "cancelled" || status == "failed";
}

std::string runName(std::int64_t id) {
    return "search run " + std::to_string(id);
}

} // namespace

// ---------------------------------------------------------------------------------------------------
// Kernels and targets: identified by name and canonical text.

namespace {

struct NamedTextSql {
    const char* what;
    const char* find;
    const char* insert;
    const char* all;
};

constexpr NamedTextSql kKernelSql{"kernel", "SELECT id FROM kernels WHERE name = ? AND text = ?",
                                  "INSERT INTO kernels (name, text) VALUES (?, ?) RETURNING id",
                                  "SELECT id, name, text FROM kernels ORDER BY id"};
constexpr NamedTextSql kTargetSql{"target", "SELECT id FROM targets WHERE name = ? AND text = ?",
                                  "INSERT INTO targets (name, text) VALUES (?, ?) RETURNING id",
                                  "SELECT id, name, text FROM targets ORDER BY id"};

std::optional<std::int64_t> findOrInsert(sqlite3* db, const NamedTextSql& sqlText, const std::string& name,
                                         const std::string& text, std::string& why) {
    sql::Statement find(db, sqlText.find);
    find.bind(name, text);
    if (find.next())
        return find.integer(0);
    if (find.failed()) {
        why = reason(find);
        return std::nullopt;
    }
    sql::Statement insert(db, sqlText.insert);
    insert.bind(name, text);
    return insertedId(insert, why);
}

template <typename Record> Record readNamedText(const sql::Statement& row) {
    return Record{row.integer(0), row.text(1), row.text(2)};
}

} // namespace

std::optional<std::int64_t> Project::addKernel(const std::string& name, const std::string& text,
                                               std::string& error) {
    std::optional<std::int64_t> id;
    const bool ok = impl_->write("add kernel '" + name + "'", error, [&](std::string& why) {
        return (id = findOrInsert(impl_->db(), kKernelSql, name, text, why)).has_value();
    });
    return ok ? id : std::nullopt;
}

std::optional<std::int64_t> Project::addTarget(const std::string& name, const std::string& text,
                                               std::string& error) {
    std::optional<std::int64_t> id;
    const bool ok = impl_->write("add target '" + name + "'", error, [&](std::string& why) {
        return (id = findOrInsert(impl_->db(), kTargetSql, name, text, why)).has_value();
    });
    return ok ? id : std::nullopt;
}

std::optional<std::vector<KernelRecord>> Project::kernels(std::string& error) const {
    sql::Statement query(impl_->db(), kKernelSql.all);
    return impl_->readAll<KernelRecord>(query, readNamedText<KernelRecord>, "list kernels", error);
}

std::optional<std::vector<TargetRecord>> Project::targets(std::string& error) const {
    sql::Statement query(impl_->db(), kTargetSql.all);
    return impl_->readAll<TargetRecord>(query, readNamedText<TargetRecord>, "list targets", error);
}

// ---------------------------------------------------------------------------------------------------
// Mapping candidates.

namespace {

// A candidate mapped again (same kernel, target and key) keeps its id, so references to it stay valid.
constexpr const char* kUpsertCandidate =
    "INSERT INTO candidates (kernel_id, target_id, key, valid, utilisation, json) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (kernel_id, target_id, key) DO UPDATE SET "
    "valid = excluded.valid, utilisation = excluded.utilisation, json = excluded.json "
    "RETURNING id";

CandidateRecord readCandidate(const sql::Statement& row) {
    return CandidateRecord{row.integer(0),      row.integer(1), row.integer(2), row.text(3),
                           row.integer(4) != 0, row.real(5),    row.text(6)};
}

} // namespace

std::optional<std::vector<std::int64_t>>
Project::addCandidates(std::int64_t kernelId, std::int64_t targetId,
                       const std::vector<CandidateRecord>& candidates, std::string& error) {
    std::vector<std::int64_t> ids;
    const bool ok = impl_->write("add mapping candidates", error, [&](std::string& why) {
        sql::Statement upsert(impl_->db(), kUpsertCandidate);
        for (const auto& c : candidates) {
            upsert.reset();
            upsert.bind(kernelId, targetId, c.key, c.valid, c.utilisation, c.json);
            const auto id = insertedId(upsert, why);
            if (!id)
                return false;
            ids.push_back(*id);
        }
        return true;
    });
    return ok ? std::optional(std::move(ids)) : std::nullopt;
}

std::optional<std::vector<CandidateRecord>> Project::candidates(std::int64_t kernelId, std::int64_t targetId,
                                                                std::string& error) const {
    sql::Statement query(impl_->db(), "SELECT id, kernel_id, target_id, key, valid, utilisation, json "
                                      "FROM candidates WHERE kernel_id = ? AND target_id = ? ORDER BY id");
    query.bind(kernelId, targetId);
    return impl_->readAll<CandidateRecord>(query, readCandidate, "list mapping candidates", error);
}

// ---------------------------------------------------------------------------------------------------
// Search runs.

namespace {

constexpr const char* kRunColumns =
    "SELECT id, kernel_id, target_id, strategy, seed, budget, constraints, status, "
    "evaluations, best_seconds, started, finished FROM runs ";

SearchRun readRun(const sql::Statement& row) {
    return SearchRun{row.integer(0),
                     row.integer(1),
                     row.integer(2),
                     row.text(3),
                     static_cast<std::uint64_t>(row.integer(4)), // the bits of the seed
                     row.text(5),
                     row.text(6),
                     row.text(7),
                     row.integer(8),
                     nullAsInfinity(row, 9),
                     row.text(10),
                     row.text(11)};
}

} // namespace

std::optional<std::int64_t> Project::startRun(const SearchRun& run, std::string& error) {
    std::optional<std::int64_t> id;
    const bool ok = impl_->write("record the start of a search run", error, [&](std::string& why) {
        if (!isRunStatus(run.status)) {
            why = "unknown status '" + run.status + "' (running, finished, cancelled or failed)";
            return false;
        }
        sql::Statement insert(
            impl_->db(),
            "INSERT INTO runs (kernel_id, target_id, strategy, seed, budget, constraints, status, "
            "evaluations, best_seconds, started, finished) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "COALESCE(NULLIF(?, ''), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), ?) RETURNING id");
        insert.bind(run.kernelId, run.targetId, run.strategy, run.seed, run.budget, run.constraints,
                    run.status, run.evaluations, finiteOrNull(run.bestSeconds), run.started, run.finished);
        return (id = insertedId(insert, why)).has_value();
    });
    return ok ? id : std::nullopt;
}

bool Project::updateRun(std::int64_t runId, const std::string& status, std::int64_t evaluations,
                        double bestSeconds, std::string& error) {
    return impl_->write("update " + runName(runId), error, [&](std::string& why) {
        if (!isRunStatus(status)) {
            why = "unknown status '" + status + "' (running, finished, cancelled or failed)";
            return false;
        }
        sql::Statement update(impl_->db(),
                              "UPDATE runs SET status = ?, evaluations = ?, best_seconds = ? WHERE id = ?");
        update.bind(status, evaluations, finiteOrNull(bestSeconds), runId);
        return updatedOne(impl_->db(), update, runName(runId), why);
    });
}

bool Project::finishRun(std::int64_t runId, const std::string& status, std::string& error) {
    return impl_->write("finish " + runName(runId), error, [&](std::string& why) {
        if (status == "running" || !isRunStatus(status)) {
            why = "a run finishes as finished, cancelled or failed, not '" + status + "'";
            return false;
        }
        sql::Statement update(impl_->db(), "UPDATE runs SET status = ?, "
                                           "finished = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?");
        update.bind(status, runId);
        return updatedOne(impl_->db(), update, runName(runId), why);
    });
}

std::optional<SearchRun> Project::run(std::int64_t runId, std::string& error) const {
    sql::Statement query(impl_->db(), (std::string(kRunColumns) + "WHERE id = ?").c_str());
    query.bind(runId);
    return impl_->readOne<SearchRun>(query, readRun, runName(runId), error);
}

std::optional<std::vector<SearchRun>> Project::runs(std::string& error) const {
    sql::Statement query(impl_->db(), (std::string(kRunColumns) + "ORDER BY id").c_str());
    return impl_->readAll<SearchRun>(query, readRun, "list search runs", error);
}

// ---------------------------------------------------------------------------------------------------
// Schedules.

namespace {

constexpr const char* kInsertSchedule =
    "INSERT INTO schedules (run_id, kernel_id, target_id, candidate_key, text, modeled_seconds, bound, "
    "breakdown_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";

constexpr const char* kScheduleColumns = "SELECT id, run_id, kernel_id, target_id, candidate_key, text, "
                                         "modeled_seconds, bound, breakdown_json FROM schedules ";

// Parameters: ?1 run, ?2 kernel, ?3 target (0: any), ?4 limit (-1: none). The run's own query lets
// SQLite walk the schedules_by_run index in order.
constexpr const char* kSchedulesOfRun = "WHERE run_id = ?1 AND (?2 = 0 OR kernel_id = ?2) AND "
                                        "(?3 = 0 OR target_id = ?3) ORDER BY modeled_seconds, id LIMIT ?4";
constexpr const char* kSchedulesOfAnyRun = "WHERE (?2 = 0 OR kernel_id = ?2) AND (?3 = 0 OR target_id = ?3) "
                                           "ORDER BY modeled_seconds, id LIMIT ?4";

ScheduleRecord readSchedule(const sql::Statement& row) {
    return ScheduleRecord{row.integer(0), row.integer(1), // NULL, a schedule made by hand, reads as 0
                          row.integer(2), row.integer(3), row.text(4), row.text(5),
                          row.real(6),    row.text(7),    row.text(8)};
}

std::optional<std::int64_t> runIdOrNull(std::int64_t runId) {
    return runId == 0 ? std::nullopt : std::optional(runId);
}

} // namespace

std::optional<std::int64_t> Project::addSchedule(const ScheduleRecord& schedule, std::string& error) {
    const auto ids = addSchedules({schedule}, error);
    return ids ? std::optional(ids->front()) : std::nullopt;
}

std::optional<std::vector<std::int64_t>> Project::addSchedules(const std::vector<ScheduleRecord>& schedules,
                                                               std::string& error) {
    std::vector<std::int64_t> ids;
    const std::string doing =
        schedules.size() == 1 ? "add a schedule" : "add " + std::to_string(schedules.size()) + " schedules";
    const bool ok = impl_->write(doing, error, [&](std::string& why) {
        sql::Statement insert(impl_->db(), kInsertSchedule);
        for (const auto& s : schedules) {
            insert.reset();
            insert.bind(runIdOrNull(s.runId), s.kernelId, s.targetId, s.candidateKey, s.text,
                        s.modeledSeconds, s.bound, s.breakdownJson);
            const auto id = insertedId(insert, why);
            if (!id)
                return false;
            ids.push_back(*id);
        }
        return true;
    });
    return ok ? std::optional(std::move(ids)) : std::nullopt;
}

std::optional<ScheduleRecord> Project::schedule(std::int64_t scheduleId, std::string& error) const {
    sql::Statement query(impl_->db(), (std::string(kScheduleColumns) + "WHERE id = ?").c_str());
    query.bind(scheduleId);
    return impl_->readOne<ScheduleRecord>(query, readSchedule, "schedule " + std::to_string(scheduleId),
                                          error);
}

std::optional<std::vector<ScheduleRecord>> Project::schedules(const ScheduleFilter& filter,
                                                              std::string& error) const {
    const std::string sqlText =
        std::string(kScheduleColumns) + (filter.runId ? kSchedulesOfRun : kSchedulesOfAnyRun);
    sql::Statement query(impl_->db(), sqlText.c_str());
    query.bind(filter.runId, filter.kernelId, filter.targetId, filter.limit > 0 ? filter.limit : -1);
    return impl_->readAll<ScheduleRecord>(query, readSchedule, "list schedules", error);
}

// ---------------------------------------------------------------------------------------------------
// Measurements.

std::optional<std::int64_t> Project::addMeasurement(const Measurement& m, std::string& error) {
    std::optional<std::int64_t> id;
    const bool ok = impl_->write(
        "add a measurement of schedule " + std::to_string(m.scheduleId), error, [&](std::string& why) {
            if (m.kind != "host" && m.kind != "simulator") {
                why = "unknown kind '" + m.kind + "' (host or simulator)";
                return false;
            }
            sql::Statement insert(impl_->db(),
                                  "INSERT INTO measurements (schedule_id, kind, seconds, spread, detail) "
                                  "VALUES (?, ?, ?, ?, ?) RETURNING id");
            insert.bind(m.scheduleId, m.kind, m.seconds, m.spread, m.detail);
            return (id = insertedId(insert, why)).has_value();
        });
    return ok ? id : std::nullopt;
}

std::optional<std::vector<Measurement>> Project::measurements(std::int64_t scheduleId,
                                                              std::string& error) const {
    sql::Statement query(impl_->db(),
                         "SELECT id, schedule_id, kind, seconds, spread, detail FROM measurements "
                         "WHERE schedule_id = ? ORDER BY id");
    query.bind(scheduleId);
    return impl_->readAll<Measurement>(
        query,
        [](const sql::Statement& row) {
            return Measurement{row.integer(0), row.integer(1), row.text(2),
                               row.real(3),    row.real(4),    row.text(5)};
        },
        "list the measurements of schedule " + std::to_string(scheduleId), error);
}

} // namespace isamap::store
