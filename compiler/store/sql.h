// Private to compiler/store: a thin layer over the SQLite C API, so that the record code reads as SQL
// and values rather than handles and return codes. Nothing outside compiler/store includes this header
// (the public header, project.h, names no SQLite type).
//
//   sql::Statement insert(db, "INSERT INTO kernels (name, text) VALUES (?, ?)");
//   insert.bind(name, text);
//   if (!insert.run()) return fail(insert.error());
//
// Values are always bound, never spliced into the SQL text.
#pragma once

#include <cstdint>
#include <optional>
#include <sqlite3.h>
#include <string>
#include <type_traits>

namespace isamap::store::sql {

// An open connection, closed on destruction.
class Connection {
public:
    Connection() = default;
    explicit Connection(sqlite3* db) : db_(db) {}
    ~Connection();
    Connection(Connection&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Connection& operator=(Connection&& other) noexcept;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sqlite3* get() const { return db_; }

private:
    sqlite3* db_ = nullptr;
};

// Opens `filename` with SQLite's open flags; on failure `error` holds SQLite's reason.
std::optional<Connection> open(const std::string& filename, int flags, std::string& error);

// Runs SQL that binds no values (schema statements, PRAGMAs of constants), possibly several statements.
bool exec(sqlite3* db, const std::string& sqlText, std::string& error);

// A prepared statement. A failure while preparing, binding or stepping is kept (the first one wins) and
// reported by failed()/error(), so a caller can bind and step and check once at the end.
class Statement {
public:
    Statement(sqlite3* db, const char* sqlText);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Binds the values to the parameters in order, from the first. Integers (and bool) bind as
    // INTEGER, floating point as REAL, strings as TEXT, nullptr and an empty optional as NULL.
    template <typename... Values> Statement& bind(const Values&... values) {
        int index = 1;
        (bindValue(index++, values), ...);
        return *this;
    }

    bool next();  // steps; true when a row is ready, false when done or failed
    bool run();   // steps to the end; false on failure
    void reset(); // ready to bind and run again (for batches); keeps an earlier failure

    bool failed() const { return code_ != SQLITE_OK; }
    int code() const { return code_; } // SQLite's extended result code of the first failure
    const std::string& error() const { return error_; }

    std::int64_t integer(int column) const;
    double real(int column) const;
    std::string text(int column) const;
    bool isNull(int column) const;

private:
    template <typename T> void bindValue(int index, const T& value) {
        if constexpr (std::is_same_v<T, std::nullptr_t>)
            bindNull(index);
        else if constexpr (std::is_integral_v<T>)
            bindInteger(index, static_cast<std::int64_t>(value)); // a uint64_t keeps its bits
        else if constexpr (std::is_floating_point_v<T>)
            bindReal(index, static_cast<double>(value));
        else if constexpr (requires { value.has_value(); }) {
            if (value)
                bindValue(index, *value);
            else
                bindNull(index);
        } else
            bindText(index, std::string_view(value));
    }
    void bindNull(int index);
    void bindInteger(int index, std::int64_t value);
    void bindReal(int index, double value);
    void bindText(int index, std::string_view value);
    void check(int rc); // records the first failure

    sqlite3* db_;
    sqlite3_stmt* statement_ = nullptr;
    int code_ = SQLITE_OK;
    std::string error_;
};

// A write transaction, rolled back on destruction unless committed. BEGIN IMMEDIATE takes the write
// lock at once, so a busy database makes us wait (up to the busy timeout) here, before any work,
// rather than fail halfway through when a read would have to become a write.
class Transaction {
public:
    explicit Transaction(sqlite3* db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    bool begun(std::string& error) const; // false with SQLite's reason when BEGIN failed
    bool commit(std::string& error);

private:
    sqlite3* db_;
    bool open_ = false;
    std::string beginError_;
};

} // namespace isamap::store::sql
