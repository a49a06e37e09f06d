#include "adapters/rocksdb/database.hpp"

#include <algorithm>
#include <system_error>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

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

  const std::string dir = opts.dir.string();
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (auto& name : family_names(db_opts, dir))
    descs.emplace_back(std::move(name), rocksdb::ColumnFamilyOptions(db_opts));

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

rocksdb::WriteOptions database::write_options() const {
  rocksdb::WriteOptions w;
  w.sync = mode_ == durability::strict;
  return w;
}

} // namespace motia::rocks
