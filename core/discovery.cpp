#include "core/discovery.hpp"

#include <algorithm>

namespace motia {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool any_suffix(const std::string& s, std::initializer_list<std::string_view> suffixes) {
  return std::any_of(suffixes.begin(), suffixes.end(),
                     [&](std::string_view x) { return ends_with(s, x); });
}

// "x.cron_step.py" and "x.cron.step.ts" are step files too: only the ending counts.
void classify(const fs::path& p, discovered_files& out) {
  auto name = p.filename().string();
  auto full = p.string();
  if (any_suffix(name, {".step.js", "_step.js", ".step.mjs", ".step.cjs"}))
    out.node.push_back(full);
  else if (any_suffix(name, {".step.ts", "_step.ts", ".step.mts", ".step.cts", ".step.tsx"})) {
    out.node.push_back(full);
    out.typescript.push_back(full);
  }
  else if (any_suffix(name, {"_step.py", ".step.py"}))
    out.python.push_back(full);
  else if (any_suffix(name, {".stream.ts", ".stream.js", "_stream.py", ".stream.py"}))
    out.streams.push_back(full);
}

void walk(const fs::path& dir, discovered_files& out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (it->is_directory(ec)) {
      if (name == "node_modules" || name == "python_modules" || name == "__pycache__"
          || (!name.empty() && name[0] == '.'))
        it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && !name.empty() && name[0] != '.')
      classify(it->path(), out);
  }
}

} // namespace

bool is_step_file(const std::string& filename) {
  discovered_files d;
  classify(fs::path(filename), d);
  return !d.node.empty() || !d.typescript.empty() || !d.python.empty();
}

discovered_files discover(const fs::path& root) {
  discovered_files out;
  walk(root / "steps", out);
  walk(root / "src", out);
  for (auto* v : {&out.node, &out.python, &out.typescript, &out.streams}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  return out;
}

} // namespace motia
