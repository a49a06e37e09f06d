#pragma once

// The RocksDB database of one node. rocksdb headers stay out of this file so
// that including it costs nothing; code that uses db() includes them itself.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
struct WriteOptions;
} // namespace rocksdb

namespace motia {
class state_store;
} // namespace motia

namespace motia::rocks {

/// How far a write is durable when the call that made it returns.
enum class durability {
  /// The WAL is fsynced: the write survives a power loss. ~0.5 ms per write.
  strict,
  /// The WAL is written but not fsynced: the write survives a crash of this
  /// process, not of the machine.
  process,
};

struct options {
  std::filesystem::path dir; ///< created if missing
  durability mode = durability::process;
  /// RocksDB's memory budget (bytes): one block cache of this size, and the
  /// memtables of every column family charged to it (WriteBufferManager), so
  /// memtables plus cached blocks stay within it. Table readers' index and
  /// filter blocks live in the cache too.
  std::size_t memory_budget = 64 * 1024 * 1024;
};

/// What RocksDB holds in memory now (bytes).
struct memory_usage {
  std::size_t memtables = 0;     ///< every column family's memtables
  std::size_t block_cache = 0;   ///< cached blocks (the cache less the memtables' charge)
  std::size_t table_readers = 0; ///< outside the cache (should stay small)
  std::size_t budget = 0;
};

/// Owns the open DB and one handle per column family: `state`, `queue`, `dlq`,
/// `streams`, `traces`, `meta` (docs/formats/rocksdb.md). Column families
/// that exist on disk but are not in this list are opened too (RocksDB
/// refuses to open a DB without all of them) and left alone.
///
/// Thread-safety: every method may be called from any thread; the DB and
/// handles are safe for concurrent use. The database must outlive every
/// store made from it.
class database {
public:
  /// Opens or creates the DB in `opts.dir`. Returns nullptr and a readable
  /// `err` on failure, e.g. when another process holds the directory's lock.
  static std::unique_ptr<database> open(const options& opts, std::string& err);

  database(const database&) = delete;
  database& operator=(const database&) = delete;
  /// Closes the DB.
  ~database();

  rocksdb::DB* db() { return db_; }

  /// The handle of column family `name`, or nullptr if it is not open.
  rocksdb::ColumnFamilyHandle* cf(std::string_view name);

  durability mode() const { return mode_; }

  /// Write options for every write to this DB: `sync` is set in strict mode.
  rocksdb::WriteOptions write_options() const;

  const std::filesystem::path& dir() const { return dir_; }

  /// RocksDB's memory now, read from its properties (cheap; no scan).
  memory_usage memory() const;

private:
  database() = default;

  rocksdb::DB* db_ = nullptr;
  std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>> cfs_;
  durability mode_ = durability::process;
  std::filesystem::path dir_;
  std::shared_ptr<void> cache_; ///< the rocksdb::Cache, type-erased
  std::size_t budget_ = 0;
};

/// The column families every node's DB has.
inline constexpr std::string_view column_families[] = {"state",   "queue",  "dlq",
                                                       "streams", "traces", "meta"};

/// A state store in column family `state` of `db`. Values are msgpack; group
/// names must not contain NUL (see docs/formats/rocksdb.md).
std::unique_ptr<state_store> make_state_store(database& db);

} // namespace motia::rocks
