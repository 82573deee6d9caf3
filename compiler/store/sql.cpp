#include "store/sql.h"

namespace isamap::store::sql {

Connection::~Connection() {
    // close_v2 never fails for want of finalized statements: it defers the close until the last one goes.
    sqlite3_close_v2(db_);
}

Connection& Connection::operator=(Connection&& other) noexcept {
    if (this != &other) {
        sqlite3_close_v2(db_);
        db_ = other.db_;
        other.db_ = nullptr;
    }
    return *this;
}

std::optional<Connection> open(const std::string& filename, int flags, std::string& error) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(filename.c_str(), &db, flags, nullptr);
    Connection connection(db); // closes even a handle that failed to open
    if (rc != SQLITE_OK) {
        error = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        return std::nullopt;
    }
    // Extended codes tell a foreign-key failure from other constraint failures.
    sqlite3_extended_result_codes(db, 1);
    return connection;
}

bool exec(sqlite3* db, const std::string& sqlText, std::string& error) {
    char* message = nullptr;
    if (sqlite3_exec(db, sqlText.c_str(), nullptr, nullptr, &message) == SQLITE_OK)
        return true;
    error = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    return false;
}

Statement::Statement(sqlite3* db, const char* sqlText) : db_(db) {
    check(sqlite3_prepare_v2(db, sqlText, -1, &statement_, nullptr));
}

Statement::~Statement() {
    sqlite3_finalize(statement_);
}

void Statement::check(int rc) {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE || failed())
        return;
    code_ = sqlite3_extended_errcode(db_);
    if (code_ == SQLITE_OK) // a misuse code is not always left in the connection
        code_ = rc;
    error_ = sqlite3_errmsg(db_);
}

void Statement::bindNull(int index) {
    if (!failed())
        check(sqlite3_bind_null(statement_, index));
}

void Statement::bindInteger(int index, std::int64_t value) {
    if (!failed())
        check(sqlite3_bind_int64(statement_, index, value));
}

void Statement::bindReal(int index, double value) {
    if (!failed())
        check(sqlite3_bind_double(statement_, index, value));
}

void Statement::bindText(int index, std::string_view value) {
    if (!failed())
        check(sqlite3_bind_text64(statement_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                  SQLITE_UTF8));
}

bool Statement::next() {
    if (failed())
        return false;
    const int rc = sqlite3_step(statement_);
    check(rc);
    return rc == SQLITE_ROW;
}

bool Statement::run() {
    while (next()) {
    }
    return !failed();
}

void Statement::reset() {
    if (statement_) {
        sqlite3_reset(statement_);
        sqlite3_clear_bindings(statement_);
    }
}

std::int64_t Statement::integer(int column) const {
    return sqlite3_column_int64(statement_, column);
}

double Statement::real(int column) const {
    return sqlite3_column_double(statement_, column);
}

std::string Statement::text(int column) const {
    const auto* bytes = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    return bytes ? std::string(bytes, sqlite3_column_bytes(statement_, column)) : std::string();
}

bool Statement::isNull(int column) const {
    return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

Transaction::Transaction(sqlite3* db) : db_(db) {
    open_ = exec(db, "BEGIN IMMEDIATE", beginError_);
}

Transaction::~Transaction() {
    if (open_) {
        std::string ignored; // a failed rollback leaves nothing to do: SQLite ends the transaction itself
        exec(db_, "ROLLBACK", ignored);
    }
}

bool Transaction::begun(std::string& error) const {
    if (!open_)
        error = beginError_;
    return open_;
}

bool Transaction::commit(std::string& error) {
    if (!begun(error))
        return false;
    if (!exec(db_, "COMMIT", error))
        return false; // still open: the destructor rolls it back
    open_ = false;
    return true;
}

} // namespace isamap::store::sql
