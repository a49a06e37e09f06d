#include "adapters/rocksdb/database.hpp"

#include <algorithm>
#include <system_error>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

namespace motia::rocks {

namespace {

// Every column family the DB needs, plus whatever the directory already has.
std::vector<std::string> family_names(const rocksdb::DBOptions& opts,
                                      const std::string& dir) {
  std::vector<std::string> names;
  // Fails on a new directory (no CURRENT file); a real problem with an
  // existing DB shows up again in DB::Open, with a better message.
  if (!rocksdb::DB::ListColumnFamilies(opts, dir, &names).ok())
    names.clear();
  const auto add = [&names](std::string_view n) {
    if (std::find(names.begin(), names.end(), n) == names.end())
      names.emplace_back(n);
  };
  add(rocksdb::kDefaultColumnFamilyName);
  for (const auto n : column_families)
    add(n);
  return names;
}

std::string open_error(const std::filesystem::path& dir, const rocksdb::Status& s) {
  // RocksDB reports a held LOCK file as an IOError whose text mentions the
  // lock ("lock hold by current process", "While lock file: ... Resource
  // temporarily unavailable").
  const std::string text = s.ToString();
  if (s.IsIOError() && text.find("lock") != std::string::npos)
    return "data dir " + dir.string() + " is in use by another motia-actors process? (" +
           text + ")";
  return "cannot open data dir " + dir.string() + ": " + text;
}

} // namespace

std::unique_ptr<database> database::open(const options& opts, std::string& err) {
  std::error_code ec;
  std::filesystem::create_directories(opts.dir, ec);
  if (ec) {
    err = "cannot create data dir " + opts.dir.string() + ": " + ec.message();
    return nullptr;
  }
  rocksdb::Options db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.keep_log_file_num = 5; // RocksDB's own LOG files, not the WAL
  // One memory budget (docs/formats/rocksdb.md): a block cache of the whole
  // budget, memtables charged to it, index and filter blocks inside it.
  const std::size_t budget = std::max<std::size_t>(opts.memory_budget, 8 << 20);
  auto cache = rocksdb::NewLRUCache(budget);
  db_opts.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(budget / 2, cache);
  db_opts.max_total_wal_size = budget; // an idle CF's old WAL does not pin the disk
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  rocksdb::ColumnFamilyOptions cf_opts(db_opts);
  cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Six families share the budget: each memtable is a fraction of it.
  cf_opts.write_buffer_size = std::max<std::size_t>(budget / 16, 1 << 20);
  cf_opts.max_write_buffer_number = 2;

  const std::string dir = opts.dir.string();
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (auto& name : family_names(db_opts, dir))
    descs.emplace_back(std::move(name), cf_opts);

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const auto s = rocksdb::DB::Open(rocksdb::DBOptions(db_opts), dir, descs, &handles, &raw);
  if (!s.ok()) {
    err = open_error(opts.dir, s);
    return nullptr;
  }
  std::unique_ptr<database> db(new database());
  db->db_ = raw;
  db->mode_ = opts.mode;
  db->dir_ = opts.dir;
  db->cache_ = cache;
  db->budget_ = budget;
  for (std::size_t i = 0; i < handles.size(); ++i)
    db->cfs_.emplace_back(descs[i].name, handles[i]);
  return db;
}

database::~database() {
  if (db_ == nullptr)
    return;
  // Handles go before the DB, as RocksDB requires. A failed Close() cannot be
  // reported from a destructor, and the WAL already holds every write.
  for (auto& [name, handle] : cfs_)
    db_->DestroyColumnFamilyHandle(handle);
  db_->Close().PermitUncheckedError();
  delete db_;
}

rocksdb::ColumnFamilyHandle* database::cf(std::string_view name) {
  for (const auto& [n, handle] : cfs_)
    if (n == name)
      return handle;
  return nullptr;
}

memory_usage database::memory() const {
  memory_usage m;
  m.budget = budget_;
  for (auto& [name, handle] : cfs_) {
    std::uint64_t v = 0;
    if (db_->GetIntProperty(handle, "rocksdb.cur-size-all-mem-tables", &v))
      m.memtables += v;
    if (db_->GetIntProperty(handle, "rocksdb.estimate-table-readers-mem", &v))
      m.table_readers += v;
  }
  if (cache_) {
    // The cache's usage includes the memtables' charge: count blocks alone.
    auto usage = std::static_pointer_cast<rocksdb::Cache>(cache_)->GetUsage();
    m.block_cache = usage > m.memtables ? usage - m.memtables : 0;
  }
  return m;
}

rocksdb::WriteOptions database::write_options() const {
  rocksdb::WriteOptions w;
  w.sync = mode_ == durability::strict;
  return w;
}

} // namespace motia::rocks
