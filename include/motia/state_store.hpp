#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "motia/json.hpp"

namespace motia {

/// The result of a state write: the value before and after it.
struct state_change {
  json old_value; ///< null when the key did not exist
  json new_value; ///< null after a delete
};

/// Shared key-value state, grouped: every key lives in a group (Motia's
/// `ctx.state`). Values are JSON; implementations store them as msgpack.
///
/// Thread-safety: all methods may be called concurrently from any thread. Each
/// single call is atomic: `set` and `del` read the old value and write the new
/// one with no other write to the same key in between.
///
/// Failure: methods report storage failures by throwing `motia::store_error`;
/// a missing key is not a failure.
class state_store {
public:
  state_store() = default;
  state_store(const state_store&) = delete;
  state_store& operator=(const state_store&) = delete;
  virtual ~state_store() = default;

  /// The value under (group, key), or std::nullopt if there is none.
  virtual std::optional<json> get(const std::string& group,
                                  const std::string& key) = 0;

  /// Stores `value` under (group, key) and returns old and new value.
  /// REQUIRES: `value` is not null (use del to remove).
  virtual state_change set(const std::string& group, const std::string& key,
                           const json& value) = 0;

  /// Applies Motia 1.0 update ops to the value under (group, key) (a missing
  /// key starts as `{}`) and stores the result, with no other write to the
  /// key in between (docs/protocol.md, `state.update`). Throws
  /// std::invalid_argument when an op does not fit; then nothing is written.
  virtual state_change update(const std::string& group, const std::string& key,
                              const json& ops) = 0;

  /// Removes (group, key); returns the removed value or std::nullopt.
  virtual std::optional<json> del(const std::string& group,
                                  const std::string& key) = 0;

  /// All values of `group`, ordered by key.
  virtual std::vector<json> get_group(const std::string& group) = 0;

  /// All keys of `group`, in order.
  virtual std::vector<std::string> keys(const std::string& group) = 0;

  /// Removes every key of `group`; returns how many were removed.
  virtual std::size_t clear(const std::string& group) = 0;

  /// The names of all groups that hold at least one key.
  virtual std::vector<std::string> groups() = 0;
};

/// Thrown by stores when the underlying storage fails.
class store_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// An in-memory store (tests, and `data.store = "memory"`).
std::unique_ptr<state_store> make_memory_state_store();

} // namespace motia
