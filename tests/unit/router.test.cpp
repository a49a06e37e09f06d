#include "core/router.hpp"

#define BOOST_TEST_MODULE router
#include <boost/test/unit_test.hpp>

using motia::router;
using kind = router::match_result::kind;
using pairs = std::vector<std::pair<std::string, std::string>>;

namespace boost::test_tools::tt_detail {
// Lets BOOST_TEST print the pair vectors it compares.
template <>
struct print_log_value<std::pair<std::string, std::string>> {
  void operator()(std::ostream& os, const std::pair<std::string, std::string>& p) {
    os << p.first << '=' << p.second;
  }
};
} // namespace boost::test_tools::tt_detail

namespace {

struct route_def {
  const char* method;
  const char* path;
};

// Route i of this table has index i.
const route_def routes[] = {
  {"GET", "/"},                          // 0
  {"GET", "/users"},                     // 1
  {"POST", "/users"},                    // 2
  {"GET", "/users/:id"},                 // 3
  {"DELETE", "/users/:userId"},          // 4: same shape, other method
  {"GET", "/users/me"},                  // 5
  {"GET", "/users/:id/posts/:postId"},   // 6
  {"GET", "/users/me/settings"},         // 7
  {"GET", "/files/:name/raw"},           // 8
};

router make_router() {
  router r;
  for (std::size_t i = 0; i < std::size(routes); ++i) {
    const auto err = r.add(routes[i].method, routes[i].path, i);
    BOOST_REQUIRE_MESSAGE(!err, routes[i].path << ": " << err.value_or(""));
  }
  return r;
}

struct match_case {
  const char* method;
  const char* path;
  kind what;
  std::size_t route;
  pairs params;
};

const match_case match_cases[] = {
  {"GET", "/", kind::found, 0, {}},
  {"GET", "/users", kind::found, 1, {}},
  {"POST", "/users", kind::found, 2, {}},
  {"GET", "/users/42", kind::found, 3, {{"id", "42"}}},
  {"DELETE", "/users/42", kind::found, 4, {{"userId", "42"}}},
  {"GET", "/users/me", kind::found, 5, {}},        // static beats param
  {"DELETE", "/users/me", kind::found, 4, {{"userId", "me"}}},
  {"GET", "/users/7/posts/9", kind::found, 6, {{"id", "7"}, {"postId", "9"}}},
  // "me" takes the static branch first, which has no "posts": falls back.
  {"GET", "/users/me/posts/9", kind::found, 6, {{"id", "me"}, {"postId", "9"}}},
  {"GET", "/users/me/settings", kind::found, 7, {}},
  {"GET", "/users/", kind::found, 1, {}},          // trailing slash ignored
  {"GET", "/users/42/", kind::found, 3, {{"id", "42"}}},
  {"GET", "/files/a%20b.txt/raw", kind::found, 8, {{"name", "a b.txt"}}},
  {"GET", "/files/100%/raw", kind::found, 8, {{"name", "100%"}}}, // bad escape kept raw
  {"GET", "/nope", kind::not_found, 0, {}},
  {"GET", "/users/42/posts", kind::not_found, 0, {}},
  {"GET", "/users/1/posts/2/extra/deep/path", kind::not_found, 0, {}},
  {"GET", "users", kind::not_found, 0, {}},
  {"GET", "", kind::not_found, 0, {}},
  {"GET", "/users//42", kind::not_found, 0, {}},
  {"get", "/users", kind::method_not_allowed, 0, {}}, // methods are case-sensitive
};

} // namespace

BOOST_AUTO_TEST_SUITE(routing) // "router" would clash with motia::router

BOOST_AUTO_TEST_CASE(match_resolves_each_table_row) {
  const router r = make_router();
  for (const auto& c : match_cases) {
    BOOST_TEST_CONTEXT(c.method << " " << c.path) {
      const auto m = r.match(c.method, c.path);
      BOOST_TEST(static_cast<int>(m.what) == static_cast<int>(c.what));
      if (c.what == kind::found) {
        BOOST_TEST(m.route == c.route);
        BOOST_TEST(m.params == c.params, boost::test_tools::per_element());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_known_path_with_another_method_is_method_not_allowed_with_the_allowed_list) {
  const router r = make_router();
  const auto m = r.match("PUT", "/users/42");
  BOOST_TEST(static_cast<int>(m.what) == static_cast<int>(kind::method_not_allowed));
  const std::vector<std::string> allowed = {"DELETE", "GET"};
  BOOST_TEST(m.allowed == allowed, boost::test_tools::per_element());

  // "/users/me" is reachable through both the static and the param route.
  const auto me = r.match("PATCH", "/users/me");
  BOOST_TEST(me.allowed == allowed, boost::test_tools::per_element());

  const auto list = r.match("DELETE", "/users");
  const std::vector<std::string> list_allowed = {"GET", "POST"};
  BOOST_TEST(list.allowed == list_allowed, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(invalid_paths_are_rejected) {
  const struct {
    const char* path;
    const char* error;
  } cases[] = {
    {"", "must start with '/'"},
    {"users", "must start with '/'"},
    {"/a//b", "no empty segment"},
    {"/a/:", "empty parameter name"},
    {"/a/:id/b/:id", "parameter :id appears twice"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.path) {
      router r;
      const auto err = r.add("GET", c.path, 0);
      BOOST_REQUIRE(err.has_value());
      BOOST_TEST(err->find(c.error) != std::string::npos, "error was: " << *err);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_route_with_the_same_method_and_shape_is_rejected) {
  router r;
  BOOST_REQUIRE(!r.add("GET", "/a/:x", 0));
  const auto err = r.add("GET", "/a/:y/", 1);
  BOOST_REQUIRE(err.has_value());
  BOOST_TEST(*err == "GET /a/:y/ conflicts with GET /a/:x");
  BOOST_TEST(!r.add("POST", "/a/:y", 2));
  BOOST_TEST(r.add("POST", "/a/:z", 3).has_value());
  BOOST_TEST(!r.add("GET", "/a/b", 4)); // a static segment is another shape
}

BOOST_AUTO_TEST_CASE(an_empty_router_finds_nothing) {
  const router r;
  BOOST_TEST(static_cast<int>(r.match("GET", "/").what) == static_cast<int>(kind::not_found));
  BOOST_TEST(static_cast<int>(r.match("GET", "/a").what) == static_cast<int>(kind::not_found));
}

BOOST_AUTO_TEST_CASE(percent_decode_decodes_escapes_and_rejects_bad_ones) {
  const struct {
    const char* in;
    std::optional<std::string> out;
  } cases[] = {
    {"", std::string()},
    {"plain", std::string("plain")},
    {"a%20b", std::string("a b")},
    {"%2F%2f", std::string("//")},
    {"a+b", std::string("a+b")},
    {"%E2%82%AC", std::string("\xE2\x82\xAC")},
    {"%00", std::string(1, '\0')},
    {"%", std::nullopt},
    {"%2", std::nullopt},
    {"abc%", std::nullopt},
    {"%zz", std::nullopt},
    {"%g0", std::nullopt},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("'" << c.in << "'") {
      const auto out = motia::percent_decode(c.in);
      BOOST_TEST(out.has_value() == c.out.has_value());
      if (out && c.out)
        BOOST_TEST(*out == *c.out);
    }
  }
}

BOOST_AUTO_TEST_CASE(parse_query_splits_decodes_and_keeps_repeated_names) {
  const struct {
    const char* in;
    pairs out;
  } cases[] = {
    {"", {}},
    {"a=1&b=x%20y&a=2", {{"a", "1"}, {"b", "x y"}, {"a", "2"}}},
    {"?q=1", {{"q", "1"}}},
    {"flag&x=", {{"flag", ""}, {"x", ""}}},
    {"a=1&&b=2&", {{"a", "1"}, {"b", "2"}}},
    {"q=a+b", {{"q", "a b"}}},
    {"e=1%3D2", {{"e", "1=2"}}},
    {"k=a=b", {{"k", "a=b"}}},
    {"bad=%zz", {{"bad", "%zz"}}},
    {"na%6De=v", {{"name", "v"}}},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("'" << c.in << "'") {
      BOOST_TEST(motia::parse_query(c.in) == c.out, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
