#pragma once

// Helpers of the RocksDB-backed unit tests: a throwaway directory and a DB
// opened in it. Include after <boost/test/unit_test.hpp>.

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "adapters/rocksdb/database.hpp"

namespace motia::test {

/// A fresh directory under /tmp, removed with everything in it at the end.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "motia-test-XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline std::unique_ptr<rocks::database> open_db(const std::filesystem::path& dir,
                                                rocks::durability mode = rocks::durability::process) {
  std::string err;
  auto db = rocks::database::open({dir, mode}, err);
  BOOST_REQUIRE_MESSAGE(db, err);
  return db;
}

} // namespace motia::test
