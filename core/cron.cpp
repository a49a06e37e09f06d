#include "core/cron.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <vector>

namespace motia {

namespace {

// ---- parsing ---------------------------------------------------------------

struct field_spec {
  const char* name;
  int lo;
  int hi;
  const std::array<std::string_view, 12>* names; // nullptr: numbers only
  int names_base;                                 // value of names[0]
};

constexpr std::array<std::string_view, 12> month_names = {
  "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
// Only the first 7 are used; the array type is shared with month_names.
constexpr std::array<std::string_view, 12> weekday_names = {
  "sun", "mon", "tue", "wed", "thu", "fri", "sat", "", "", "", "", ""};

// Day-of-week accepts 7 as a second Sunday; bit 7 is folded onto bit 0 later.
const field_spec specs[5] = {
  {"minute", 0, 59, nullptr, 0},
  {"hour", 0, 23, nullptr, 0},
  {"day-of-month", 1, 31, nullptr, 0},
  {"month", 1, 12, &month_names, 1},
  {"day-of-week", 0, 7, &weekday_names, 0},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (c < '0' || c > '9')
      return false;
  return true;
}

std::string range_text(int lo, int hi) {
  return std::to_string(lo) + "-" + std::to_string(hi);
}

// Parses a number in [lo, hi]; `what` prefixes the out-of-range message ("step ").
bool parse_number(std::string_view tok, int lo, int hi, const char* what, int& out,
                  std::string& err) {
  // More than 4 digits is out of range for every field; this also keeps
  // from_chars away from overflow.
  if (tok.size() <= 4) {
    std::from_chars(tok.data(), tok.data() + tok.size(), out);
    if (out >= lo && out <= hi)
      return true;
  }
  err = std::string(what) + std::string(tok) + " is out of range " + range_text(lo, hi);
  return false;
}

bool parse_value(std::string_view tok, std::string_view item, const field_spec& f,
                 int& out, std::string& err) {
  if (tok.empty()) {
    err = "missing value in \"" + std::string(item) + "\"";
    return false;
  }
  if (all_digits(tok))
    return parse_number(tok, f.lo, f.hi, "", out, err);
  if (f.names != nullptr) {
    const std::string l = lower(tok);
    for (std::size_t i = 0; i < f.names->size(); ++i) {
      if (!(*f.names)[i].empty() && (*f.names)[i] == l) {
        out = f.names_base + static_cast<int>(i);
        return true;
      }
    }
    err = "\"" + std::string(tok) + "\" is not a number or a " + f.name + " name";
    return false;
  }
  err = "\"" + std::string(tok) + "\" is not a number";
  return false;
}

// One list item: "*", "n", "a-b", each optionally followed by "/step".
// "n/step" means "n-max/step", as in Vixie cron.
bool parse_item(std::string_view item, const field_spec& f, std::uint64_t& mask,
                std::string& err) {
  std::string_view base = item;
  int step = 1;
  const auto slash = item.find('/');
  if (slash != std::string_view::npos) {
    base = item.substr(0, slash);
    const std::string_view st = item.substr(slash + 1);
    if (!all_digits(st)) {
      err = "step \"" + std::string(st) + "\" is not a number";
      return false;
    }
    if (!parse_number(st, 1, f.hi, "step ", step, err))
      return false;
  }
  int a = f.lo;
  int b = f.hi;
  if (base != "*") {
    const auto dash = base.find('-');
    if (dash == std::string_view::npos) {
      if (!parse_value(base, item, f, a, err))
        return false;
      b = slash == std::string_view::npos ? a : f.hi;
    } else {
      if (!parse_value(base.substr(0, dash), item, f, a, err) ||
          !parse_value(base.substr(dash + 1), item, f, b, err))
        return false;
      if (a > b) {
        err = "range " + std::string(base) + " is reversed";
        return false;
      }
    }
  }
  for (int v = a; v <= b; v += step)
    mask |= std::uint64_t{1} << v;
  return true;
}

bool parse_field(std::string_view text, const field_spec& f, std::uint64_t& mask,
                 std::string& err) {
  mask = 0;
  std::size_t start = 0;
  bool ok = true;
  while (ok) {
    const auto comma = text.find(',', start);
    const auto item = text.substr(start, comma == std::string_view::npos
                                             ? std::string_view::npos
                                             : comma - start);
    if (item.empty()) {
      err = "empty list item in \"" + std::string(text) + "\"";
      ok = false;
    } else {
      ok = parse_item(item, f, mask, err);
    }
    if (ok && comma == std::string_view::npos)
      return true;
    start = comma + 1;
  }
  err = std::string(f.name) + " field: " + err;
  return false;
}

std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    if (i > start)
      out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::optional<std::string_view> expand_alias(std::string_view alias) {
  const std::string a = lower(alias);
  if (a == "@yearly" || a == "@annually")
    return "0 0 1 1 *";
  if (a == "@monthly")
    return "0 0 1 * *";
  if (a == "@weekly")
    return "0 0 * * 0";
  if (a == "@daily" || a == "@midnight")
    return "0 0 * * *";
  if (a == "@hourly")
    return "0 * * * *";
  return std::nullopt;
}

// Vixie cron treats any day field that starts with '*' as unrestricted, so
// "*/2" would silently switch the day rule from OR to AND. Like robfig/cron we
// count only a plain "*" (or "*/1", which means the same) as unrestricted.
bool is_star(std::string_view field) {
  return field == "*" || field == "*/1";
}

// ---- calendar (proleptic Gregorian, days since 1970-01-01) -----------------

// Howard Hinnant's days_from_civil; exact for every year representable here.
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

bool is_leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(std::int64_t y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int weekday(std::int64_t days) { // 0 = Sunday; 1970-01-01 was a Thursday
  const std::int64_t w = (days + 4) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}

// The lowest set bit at or above `from` in bits [from, limit), or -1.
template <std::size_t N>
int next_set(const std::bitset<N>& bits, int from, int limit) {
  for (int i = from; i < limit; ++i)
    if (bits[static_cast<std::size_t>(i)])
      return i;
  return -1;
}

} // namespace

std::optional<cron_expr> cron_expr::parse(std::string_view text, std::string& err) {
  std::vector<std::string_view> fields = split_fields(text);
  if (fields.size() == 1 && fields[0].front() == '@') {
    const auto expanded = expand_alias(fields[0]);
    if (!expanded) {
      err = "unknown alias \"" + std::string(fields[0]) + "\"";
      return std::nullopt;
    }
    fields = split_fields(*expanded);
  }
  if (fields.size() != 5) {
    err = "expected 5 fields (minute hour day-of-month month day-of-week), got " +
          std::to_string(fields.size());
    return std::nullopt;
  }
  std::uint64_t masks[5];
  for (int i = 0; i < 5; ++i)
    if (!parse_field(fields[i], specs[i], masks[i], err))
      return std::nullopt;
  cron_expr e;
  e.text_ = std::string(text);
  e.minutes_ = std::bitset<60>(masks[0]);
  e.hours_ = std::bitset<24>(masks[1]);
  e.days_ = std::bitset<32>(masks[2]);
  e.months_ = std::bitset<13>(masks[3]);
  e.weekdays_ = std::bitset<7>(masks[4] | (masks[4] >> 7)); // 7 -> Sunday
  e.dom_any_ = is_star(fields[2]);
  e.dow_any_ = is_star(fields[4]);
  return e;
}

std::optional<std::chrono::system_clock::time_point>
cron_expr::next_after(std::chrono::system_clock::time_point after) const {
  using namespace std::chrono;
  // A default-constructed expression matches nothing.
  if (minutes_.none() || hours_.none() || months_.none())
    return std::nullopt;
  const std::int64_t start = (floor<minutes>(after) + minutes(1)).time_since_epoch().count();
  const std::int64_t start_day = start >= 0 ? start / 1440 : (start - 1439) / 1440;
  std::int64_t y;
  int mo, d;
  civil_from_days(start_day, y, mo, d);
  const std::int64_t last_year = y + 5;
  int from = static_cast<int>(start - start_day * 1440); // minute of the day

  const auto day_ok = [this](int dom, int dow) {
    const bool by_dom = days_[static_cast<std::size_t>(dom)];
    const bool by_dow = weekdays_[static_cast<std::size_t>(dow)];
    if (dom_any_ || dow_any_)
      return by_dom && by_dow; // the "*" side is all ones
    return by_dom || by_dow;
  };
  // The first matching minute of a day at or after minute `from`, or -1.
  const auto time_in_day = [this](int from_minute) {
    const int h0 = from_minute / 60;
    for (int h = next_set(hours_, h0, 24); h >= 0; h = next_set(hours_, h + 1, 24)) {
      const int m = next_set(minutes_, h == h0 ? from_minute % 60 : 0, 60);
      if (m >= 0)
        return h * 60 + m;
    }
    return -1;
  };

  // Skip whole months, then whole days, so an impossible expression costs at
  // most ~12 month steps and ~31 day steps per year searched.
  while (y <= last_year) {
    if (!months_[static_cast<std::size_t>(mo)]) {
      const int next = next_set(months_, mo + 1, 13);
      if (next < 0)
        ++y;
      mo = next < 0 ? next_set(months_, 1, 13) : next;
      d = 1, from = 0;
      continue;
    }
    const std::int64_t day = days_from_civil(y, mo, d);
    if (day_ok(d, weekday(day))) {
      const int t = time_in_day(from);
      if (t >= 0)
        return system_clock::time_point(
          duration_cast<system_clock::duration>(minutes(day * 1440 + t)));
    }
    from = 0;
    if (++d > days_in_month(y, mo)) {
      d = 1;
      if (++mo > 12)
        mo = 1, ++y;
    }
  }
  return std::nullopt;
}

} // namespace motia
