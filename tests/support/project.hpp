#pragma once

// Helpers of the integration tests: a throwaway project directory and polling.

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace motia::test {

/// A fresh project directory with a steps/ folder, removed at the end.
struct temp_project {
  std::filesystem::path dir;
  temp_project() {
    dir = std::filesystem::temp_directory_path()
          / ("motia-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
    std::filesystem::create_directories(dir / "steps");
  }
  ~temp_project() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  void write(const std::string& rel, const std::string& text) const {
    std::ofstream(dir / rel) << text;
  }
};

/// Polls `pred` every 10 ms for up to `limit`; true once it held.
template <class F>
bool eventually(F pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

} // namespace motia::test
