#include "core/cron.hpp"

#define BOOST_TEST_MODULE cron
#include <boost/test/unit_test.hpp>

#include <ctime>

using motia::cron_expr;
using clock_type = std::chrono::system_clock;

namespace {

long long micros_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::steady_clock::now() - start)
    .count();
}

// "YYYY-MM-DD HH:MM[:SS]" in UTC. timegm is the oracle, independent of the
// calendar code under test.
clock_type::time_point utc(const char* text) {
  std::tm tm{};
  int y, mo, d, h, mi, s = 0;
  BOOST_REQUIRE(std::sscanf(text, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s) >= 5);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return clock_type::from_time_t(timegm(&tm));
}

std::string show(std::optional<clock_type::time_point> t) {
  if (!t)
    return "none";
  const std::time_t tt = clock_type::to_time_t(*t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

cron_expr parse_ok(const std::string& text) {
  std::string err;
  auto e = cron_expr::parse(text, err);
  BOOST_REQUIRE_MESSAGE(e, "'" << text << "' failed: " << err);
  return *e;
}

struct next_case {
  const char* expr;
  const char* after;
  const char* expected;
};

const next_case next_cases[] = {
  {"* * * * *", "2024-01-01 00:00:30", "2024-01-01 00:01:00"},
  {"* * * * *", "2024-01-01 00:00:00", "2024-01-01 00:01:00"}, // strictly after
  {"*/15 * * * *", "2024-01-01 10:07:00", "2024-01-01 10:15:00"},
  {"*/15 * * * *", "2024-01-01 10:45:00", "2024-01-01 11:00:00"},
  {"0 9-17/4 * * *", "2024-01-01 10:00:00", "2024-01-01 13:00:00"},
  {"0 9-17/4 * * *", "2024-01-01 17:00:00", "2024-01-02 09:00:00"},
  {"5,10,50 * * * *", "2024-01-01 12:10:00", "2024-01-01 12:50:00"},
  {"10/20 * * * *", "2024-01-01 12:31:00", "2024-01-01 12:50:00"}, // n/step = n-max/step
  {"  0   0 * *\t*  ", "2024-01-01 10:00:00", "2024-01-02 00:00:00"},
  // 2024-01-01 was a Monday.
  {"30 8 * * MON-FRI", "2024-01-05 09:00:00", "2024-01-08 08:30:00"},
  {"0 0 * * 7", "2024-01-01 00:00:00", "2024-01-07 00:00:00"},
  {"0 0 * * sun", "2024-01-01 00:00:00", "2024-01-07 00:00:00"},
  {"0 0 * * 0", "2024-01-01 00:00:00", "2024-01-07 00:00:00"},
  {"0 0 * * 6", "2024-01-01 00:00:00", "2024-01-06 00:00:00"},
  {"0 0 * * 5-7", "2024-01-01 00:00:00", "2024-01-05 00:00:00"},
  {"0 0 1 Feb,aug *", "2024-03-01 00:00:00", "2024-08-01 00:00:00"},
  {"0 0 1 jan *", "2024-06-01 00:00:00", "2025-01-01 00:00:00"},
  // Month and year rollover, and months too short for the day.
  {"0 12 1 * *", "2024-01-31 12:00:00", "2024-02-01 12:00:00"},
  {"59 23 31 12 *", "2024-12-31 23:59:00", "2025-12-31 23:59:00"},
  {"0 0 31 * *", "2024-01-31 00:00:00", "2024-03-31 00:00:00"},
  {"0 0 31 * *", "2024-03-31 00:00:00", "2024-05-31 00:00:00"},
  // Both day fields restricted: a day matches either (13th or a Friday).
  {"0 0 13 * 5", "2024-01-01 00:00:00", "2024-01-05 00:00:00"},
  {"0 0 13 * 5", "2024-01-12 00:00:00", "2024-01-13 00:00:00"},
  // "*/2" counts as restricted, so this is odd days or Mondays.
  {"0 0 */2 * 1", "2024-01-01 00:00:00", "2024-01-03 00:00:00"},
  {"0 0 */2 * 1", "2024-01-07 00:00:00", "2024-01-08 00:00:00"},
  // Leap days.
  {"0 0 29 2 *", "2023-01-01 00:00:00", "2024-02-29 00:00:00"},
  {"0 0 29 2 *", "2024-03-01 00:00:00", "2028-02-29 00:00:00"},
  // Aliases.
  {"@hourly", "2024-01-01 10:30:00", "2024-01-01 11:00:00"},
  {"@daily", "2024-01-01 10:00:00", "2024-01-02 00:00:00"},
  {"@midnight", "2024-01-01 10:00:00", "2024-01-02 00:00:00"},
  {"@weekly", "2024-01-01 00:00:00", "2024-01-07 00:00:00"},
  {"@monthly", "2024-01-15 00:00:00", "2024-02-01 00:00:00"},
  {"@yearly", "2024-01-15 00:00:00", "2025-01-01 00:00:00"},
  {"@ANNUALLY", "2024-01-15 00:00:00", "2025-01-01 00:00:00"},
  // Before the epoch.
  {"0 0 1 1 *", "1969-06-01 00:00:00", "1970-01-01 00:00:00"},
};

struct bad_case {
  const char* expr;
  const char* error; // a substring of the expected error
};

const bad_case bad_cases[] = {
  {"", "expected 5 fields (minute hour day-of-month month day-of-week), got 0"},
  {"* * * *", "got 4"},
  {"* * * * * *", "got 6"},
  {"61 * * * *", "minute field: 61 is out of range 0-59"},
  {"99999999999 * * * *", "minute field: 99999999999 is out of range 0-59"},
  {"* 24 * * *", "hour field: 24 is out of range 0-23"},
  {"* * 0 * *", "day-of-month field: 0 is out of range 1-31"},
  {"* * 32 * *", "day-of-month field: 32 is out of range 1-31"},
  {"* * * 13 *", "month field: 13 is out of range 1-12"},
  {"* * * * 8", "day-of-week field: 8 is out of range 0-7"},
  {"*/0 * * * *", "minute field: step 0 is out of range 1-59"},
  {"*/x * * * *", "minute field: step \"x\" is not a number"},
  {"5-1 * * * *", "minute field: range 5-1 is reversed"},
  {"* * * * fri-mon", "day-of-week field: range fri-mon is reversed"},
  {"abc * * * *", "minute field: \"abc\" is not a number"},
  {"* * * foo *", "month field: \"foo\" is not a number or a month name"},
  {"* * * * xyz", "day-of-week field: \"xyz\" is not a number or a day-of-week name"},
  {"* * * jan *x", "day-of-week field: \"*x\" is not a number"},
  {"1,,2 * * * *", "minute field: empty list item in \"1,,2\""},
  {"1- * * * *", "minute field: missing value in \"1-\""},
  {"@reboot", "unknown alias \"@reboot\""},
};

} // namespace

BOOST_AUTO_TEST_SUITE(cron)

BOOST_AUTO_TEST_CASE(next_after_finds_the_first_matching_minute_for_each_table_row) {
  for (const auto& c : next_cases) {
    BOOST_TEST_CONTEXT(c.expr << " after " << c.after) {
      const auto next = parse_ok(c.expr).next_after(utc(c.after));
      BOOST_TEST(show(next) == c.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_expressions_are_rejected_with_a_reason_naming_the_field) {
  for (const auto& c : bad_cases) {
    BOOST_TEST_CONTEXT("'" << c.expr << "'") {
      std::string err;
      const auto e = cron_expr::parse(c.expr, err);
      BOOST_TEST(!e.has_value());
      BOOST_TEST(err.find(c.error) != std::string::npos, "error was: " << err);
    }
  }
}

BOOST_AUTO_TEST_CASE(impossible_dates_give_no_next_time_quickly) {
  for (const char* text : {"0 0 30 2 *", "0 0 31 4,6,9,11 *"}) {
    const auto e = parse_ok(text);
    const auto start = std::chrono::steady_clock::now();
    BOOST_TEST(!e.next_after(utc("2024-01-01 00:00")).has_value(), text);
    // Day skipping makes this ~500 loop steps; a minute-by-minute search
    // would take millions. Generous bound for a loaded machine.
    BOOST_TEST(micros_since(start) < 50000);
  }
}

BOOST_AUTO_TEST_CASE(successive_calls_walk_through_leap_years) {
  const auto e = parse_ok("0 0 29 2 *");
  auto t = e.next_after(utc("2024-01-01 00:00"));
  std::vector<std::string> seen;
  for (int i = 0; i < 3 && t; ++i, t = e.next_after(*t))
    seen.push_back(show(t));
  const std::vector<std::string> expected = {"2024-02-29 00:00:00", "2028-02-29 00:00:00",
                                             "2032-02-29 00:00:00"};
  BOOST_TEST(seen == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_typical_expression_takes_microseconds) {
  const auto e = parse_ok("*/5 9-17 * * MON-FRI");
  auto t = utc("2024-01-01 00:00");
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i)
    t = *e.next_after(t);
  BOOST_TEST(micros_since(start) / 10000 < 20); // per call, in µs
}

BOOST_AUTO_TEST_CASE(text_returns_the_expression_as_given) {
  BOOST_TEST(parse_ok("@daily").text() == "@daily");
  BOOST_TEST(parse_ok("0 0 * * *").text() == "0 0 * * *");
}

BOOST_AUTO_TEST_SUITE_END()
