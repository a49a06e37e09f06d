#include "motia/state_store.hpp"

#include <map>
#include <mutex>
#include <stdexcept>

#include "core/state_update.hpp"

namespace motia {

namespace {

// One mutex over a map of groups: state calls are short, and the RocksDB
// store is the one built for concurrency. This store could hold any group
// name, but the RocksDB rule (no NUL) is enforced so both behave the same.
class memory_state_store final : public state_store {
public:
  std::optional<json> get(const std::string& group, const std::string& key) override {
    check_group(group);
    std::lock_guard<std::mutex> guard(mu_);
    if (const json* v = find(group, key))
      return *v;
    return std::nullopt;
  }

  state_change set(const std::string& group, const std::string& key,
                   const json& value) override {
    check_group(group);
    std::lock_guard<std::mutex> guard(mu_);
    json& slot = groups_[group][key];
    state_change change{std::move(slot), value};
    slot = value;
    return change;
  }

  state_change update(const std::string& group, const std::string& key,
                      const json& ops) override {
    check_group(group);
    std::lock_guard<std::mutex> guard(mu_);
    const json* found = find(group, key);
    json old = found ? *found : json();
    json next = old;
    std::string err;
    if (!apply_update_ops(next, ops, err))
      throw std::invalid_argument(err);
    groups_[group][key] = next;
    return {std::move(old), std::move(next)};
  }

  std::optional<json> del(const std::string& group, const std::string& key) override {
    check_group(group);
    std::lock_guard<std::mutex> guard(mu_);
    const auto g = groups_.find(group);
    if (g == groups_.end())
      return std::nullopt;
    const auto it = g->second.find(key);
    if (it == g->second.end())
      return std::nullopt;
    json old = std::move(it->second);
    g->second.erase(it);
    if (g->second.empty())
      groups_.erase(g); // groups() lists only groups with keys
    return old;
  }

  std::vector<json> get_group(const std::string& group) override {
    check_group(group);
    std::vector<json> out;
    std::lock_guard<std::mutex> guard(mu_);
    if (const auto g = groups_.find(group); g != groups_.end())
      for (const auto& [key, value] : g->second)
        out.push_back(value);
    return out;
  }

  std::vector<std::string> keys(const std::string& group) override {
    check_group(group);
    std::vector<std::string> out;
    std::lock_guard<std::mutex> guard(mu_);
    if (const auto g = groups_.find(group); g != groups_.end())
      for (const auto& kv : g->second)
        out.push_back(kv.first);
    return out;
  }

  std::size_t clear(const std::string& group) override {
    check_group(group);
    std::lock_guard<std::mutex> guard(mu_);
    const auto g = groups_.find(group);
    if (g == groups_.end())
      return 0;
    const std::size_t n = g->second.size();
    groups_.erase(g);
    return n;
  }

  std::vector<std::string> groups() override {
    std::vector<std::string> out;
    std::lock_guard<std::mutex> guard(mu_);
    for (const auto& kv : groups_)
      out.push_back(kv.first);
    return out;
  }

private:
  static void check_group(const std::string& group) {
    if (group.find('\0') != std::string::npos)
      throw store_error("state group names must not contain NUL");
  }

  // The value under (group, key), or nullptr. REQUIRES: mu_ held.
  const json* find(const std::string& group, const std::string& key) const {
    const auto g = groups_.find(group);
    if (g == groups_.end())
      return nullptr;
    const auto it = g->second.find(key);
    return it == g->second.end() ? nullptr : &it->second;
  }

  std::mutex mu_;
  // std::map keeps keys in byte order, the order RocksDB iterates in.
  std::map<std::string, std::map<std::string, json>> groups_;
};

} // namespace

std::unique_ptr<state_store> make_memory_state_store() {
  return std::make_unique<memory_state_store>();
}

} // namespace motia
