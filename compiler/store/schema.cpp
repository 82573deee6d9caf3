#include "store/schema.h"

#include "store/sql.h"

#include <cstdio>
#include <iterator>

namespace isamap::store::schema {

namespace {

// Version 1: kernels and targets (by their canonical text), mapping candidates, search runs and the
// schedules they found. Frozen: a file written at version 1 holds exactly this.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE kernels (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (name, text)
);
CREATE TABLE targets (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (name, text)
);
CREATE TABLE candidates (
    id          INTEGER PRIMARY KEY,
    kernel_id   INTEGER NOT NULL REFERENCES kernels (id) ON DELETE CASCADE,
    target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    valid       INTEGER NOT NULL CHECK (valid IN (0, 1)),
    utilisation REAL NOT NULL,
    json        TEXT NOT NULL,
    UNIQUE (kernel_id, target_id, key)
);
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    kernel_id    INTEGER NOT NULL REFERENCES kernels (id) ON DELETE CASCADE,
    target_id    INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    strategy     TEXT NOT NULL,
    seed         INTEGER NOT NULL,
    budget       TEXT NOT NULL,
    constraints  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'finished', 'cancelled', 'failed')),
    evaluations  INTEGER NOT NULL DEFAULT 0,
    best_seconds REAL,
    started      TEXT NOT NULL,
    finished     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_kernel_target ON runs (kernel_id, target_id);
CREATE TABLE schedules (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER REFERENCES runs (id) ON DELETE CASCADE,
    kernel_id       INTEGER NOT NULL REFERENCES kernels (id) ON DELETE CASCADE,
    target_id       INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    candidate_key   TEXT NOT NULL,
    text            TEXT NOT NULL,
    modeled_seconds REAL NOT NULL,
    bound           TEXT NOT NULL,
    breakdown_json  TEXT NOT NULL
);
CREATE INDEX schedules_by_run ON schedules (run_id, modeled_seconds);
CREATE INDEX schedules_by_kernel_target ON schedules (kernel_id, target_id, modeled_seconds);
)sql";

// Version 2: measurements of schedules, on the host or in the simulator.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE measurements (
    id          INTEGER PRIMARY KEY,
    schedule_id INTEGER NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('host', 'simulator')),
    seconds     REAL NOT NULL,
    spread      REAL NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX measurements_by_schedule ON measurements (schedule_id);
)sql";

// kMigrations[i] brings a file from version i to version i + 1.
constexpr const char* kMigrations[] = {kVersion1, kVersion2};
static_assert(std::size(kMigrations) == kCurrentVersion);

std::optional<std::int64_t> singleInteger(sqlite3* db, const char* query, std::string& error) {
    sql::Statement statement(db, query);
    const bool row = statement.next();
    if (!row) {
        error = statement.failed() ? statement.error() : std::string("no answer to ") + query;
        return std::nullopt;
    }
    return statement.integer(0);
}

// PRAGMAs take no bound parameters; the numbers written here are this program's constants.
std::string setPragma(const char* name, std::int64_t value) {
    return std::string("PRAGMA ") + name + " = " + std::to_string(value);
}

bool applyMigration(sqlite3* db, int from, std::string& error) {
    if (!sql::exec(db, kMigrations[from], error) ||
        !sql::exec(db, setPragma("user_version", from + 1), error)) {
        error = "migrating from schema " + std::to_string(from) + " to " + std::to_string(from + 1) + ": " +
                error;
        return false;
    }
    return true;
}

} // namespace

std::optional<Identity> readIdentity(sqlite3* db, std::string& error) {
    const auto applicationId = singleInteger(db, "PRAGMA application_id", error);
    const auto version = applicationId ? singleInteger(db, "PRAGMA user_version", error) : std::nullopt;
    const auto objects =
        version ? singleInteger(db, "SELECT count(*) FROM sqlite_schema", error) : std::nullopt;
    if (!objects)
        return std::nullopt;
    return Identity{static_cast<std::int32_t>(*applicationId), static_cast<int>(*version), *objects == 0};
}

std::string refusal(const Identity& identity, const std::string& path) {
    if (identity.applicationId == 0 && identity.version == 0 && identity.empty)
        return {}; // an empty SQLite database holds nothing to protect: it becomes a project
    if (identity.applicationId != kApplicationId) {
        char id[16];
        std::snprintf(id, sizeof id, "0x%08X", static_cast<unsigned>(identity.applicationId));
        return path +
               " is not an ISA Mapper project (an SQLite database of another program, application id " + id +
               ")";
    }
    if (identity.version > kCurrentVersion)
        return path + " was written by a newer ISA Mapper Studio (schema " +
               std::to_string(identity.version) + "; this one reads up to " +
               std::to_string(kCurrentVersion) + ")";
    return {};
}

bool migrate(sqlite3* db, const std::string& path, std::string& error) {
    sql::Transaction transaction(db);
    std::string why;
    if (!transaction.begun(why)) {
        error = path + ": cannot open the project for writing: " + why;
        return false;
    }
    const auto identity = readIdentity(db, why);
    if (!identity) {
        error = path + " cannot be read as a project: " + why;
        return false;
    }
    if (auto refused = refusal(*identity, path); !refused.empty()) {
        error = refused;
        return false;
    }
    if (identity->version == kCurrentVersion)
        return true; // nothing to write: the destructor ends the empty transaction
    bool ok = sql::exec(db, setPragma("application_id", kApplicationId), why);
    for (int from = identity->version; ok && from < kCurrentVersion; ++from)
        ok = applyMigration(db, from, why);
    if (!ok || !transaction.commit(why)) {
        error = path + ": cannot bring the project to schema " + std::to_string(kCurrentVersion) + ": " + why;
        return false;
    }
    return true;
}

} // namespace isamap::store::schema
