#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace motia {

/// A parsed 5-field cron expression: minute hour day-of-month month day-of-week.
/// Supports `*`, numbers, ranges `a-b`, lists `a,b`, steps `*/n` and `a-b/n`,
/// month and weekday names (JAN..DEC, SUN..SAT, case-insensitive), 7 = Sunday,
/// and the aliases @yearly @annually @monthly @weekly @daily @midnight @hourly.
/// Day-of-month and day-of-week follow Vixie cron: if both are restricted, a
/// day matches when either matches.
class cron_expr {
public:
  /// Parses `text`; on failure returns nullopt and sets `err` to the reason.
  static std::optional<cron_expr> parse(std::string_view text, std::string& err);

  /// The first matching minute strictly after `after`, in UTC.
  /// Returns nullopt if none within the next 5 years (e.g. "0 0 30 2 *").
  std::optional<std::chrono::system_clock::time_point>
  next_after(std::chrono::system_clock::time_point after) const;

  const std::string& text() const { return text_; }

private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;   // 1..31
  std::bitset<13> months_; // 1..12
  std::bitset<7> weekdays_; // 0 = Sunday
  bool dom_any_ = true;
  bool dow_any_ = true;
};

} // namespace motia
