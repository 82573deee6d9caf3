// Private to compiler/store: what makes an SQLite file a project, and how an older project's schema is
// brought up to this program's.
//
// A project carries application_id 0x49534D50 ("ISMP") and its schema version in user_version, both
// in the SQLite header, so a foreign SQLite file and a newer project are recognised before anything is
// written. Each schema version is reached from the one before by one migration; all migrations a file
// needs run in one transaction, so a file is at its old version or the current one, never between.
#pragma once

#include <cstdint>
#include <optional>
#include <sqlite3.h>
#include <string>

namespace isamap::store::schema {

inline constexpr std::int32_t kApplicationId = 0x49534D50; // "ISMP"
inline constexpr int kCurrentVersion = 2;

// What an SQLite file's header and catalogue say about it.
struct Identity {
    std::int32_t applicationId = 0;
    int version = 0;    // user_version
    bool empty = false; // no tables, views or indexes at all
};

std::optional<Identity> readIdentity(sqlite3* db, std::string& error);

// Why a file with this identity cannot be opened as a project by this program; empty when it can
// (a project no newer than this program, or an SQLite database with nothing in it).
std::string refusal(const Identity& identity, const std::string& path);

// Brings the database from its version to kCurrentVersion in one transaction, checking its identity
// again inside the transaction (another process may have created or migrated it since).
bool migrate(sqlite3* db, const std::string& path, std::string& error);

} // namespace isamap::store::schema
