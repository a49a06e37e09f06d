#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace motia {

/// Maps (method, path) to a route index. Paths are segments separated by '/';
/// a segment `:name` captures one segment. Static segments win over params at
/// the same depth ("/users/me" beats "/users/:id"). Trailing slashes are
/// ignored ("/a/" == "/a").
///
/// Thread-safety: add() before use; match() is const and safe concurrently.
class router {
public:
  struct match_result {
    enum class kind { found, not_found, method_not_allowed } what = kind::not_found;
    std::size_t route = 0;                                    ///< when found
    std::vector<std::pair<std::string, std::string>> params;  ///< when found
    std::vector<std::string> allowed;                          ///< when method_not_allowed
  };

  /// Adds a route; returns an error text if `path` is invalid (not starting
  /// with '/', empty param name, duplicate param name) or (method, path shape)
  /// is already taken ("/a/:x" and "/a/:y" have the same shape).
  std::optional<std::string> add(std::string_view method, std::string_view path,
                                 std::size_t route);

  match_result match(std::string_view method, std::string_view path) const;

private:
  // A trie over path segments: static children by name, at most one param
  // child (all ":name" segments at one depth share it; names live in slots).
  struct slot {
    std::string method;
    std::string path;               // as given to add(), for conflict messages
    std::vector<std::string> names; // param names, in path order
    std::size_t route;
  };
  struct node {
    std::map<std::string, std::size_t, std::less<>> statics; // segment -> index
    std::size_t param = 0; // index of the param child; 0 = none (0 is the root)
    std::vector<slot> slots;
  };

  bool search(std::size_t n, const std::vector<std::string_view>& segs,
              std::size_t depth, std::string_view method,
              std::vector<std::string_view>& captured, match_result& out) const;

  std::vector<node> nodes_ = std::vector<node>(1); // nodes_[0] is the root
  std::size_t max_depth_ = 0;
};

/// Percent-decodes `s` ("+" stays "+"); returns nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view s);

/// Parses a query string "a=1&b=x%20y&a=2" into name -> value; a repeated name
/// keeps every value in order.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q);

} // namespace motia
