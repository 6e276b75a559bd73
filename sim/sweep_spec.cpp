#include "sim/sweep_spec.h"

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/rng.h"
#include "modules/common/text.h"

namespace tacsim::sim {

namespace {

// Splits at the commas that are outside double quotes and parentheses, so `"32,64", range(8, 64, 8)` is two
// items; each item is trimmed and loses its enclosing quotes.
std::vector<std::string> split_items(std::string_view s, const std::string& what) {
  std::vector<std::string> out;
  std::string item;
  int depth = 0;
  bool quoted = false;
  auto finish = [&] {
    std::string t = text::trim(item);
    if (t.empty())
      throw InputError(
          fmt::format("{}: empty item in the list '{}' (items are separated by commas, without a "
                      "trailing one)",
                      what, s));
    if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
    out.push_back(t);
    item.clear();
  };
  for (char c : s) {
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '(') ++depth;
    if (!quoted && c == ')' && --depth < 0) break;
    if (!quoted && depth == 0 && c == ',') {
      finish();
      continue;
    }
    item += c;
  }
  if (quoted || depth != 0)
    throw InputError(fmt::format("{}: unbalanced {} in '{}'", what, quoted ? "quote" : "parenthesis", s));
  finish();
  return out;
}

// "name(a, b)" -> {"name", "a, b"}; nullopt when `s` is not a call.
std::optional<std::pair<std::string, std::string>> as_call(const std::string& s) {
  const auto open = s.find('(');
  if (open == std::string::npos || s.back() != ')') return std::nullopt;
  const std::string name = text::trim(std::string_view(s).substr(0, open));
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string::npos)
    return std::nullopt;
  return std::make_pair(name, s.substr(open + 1, s.size() - open - 2));
}

std::int64_t parse_integer(const std::string& s, const std::string& what) {
  const bool negative = !s.empty() && s.front() == '-';
  const auto v =
      text::to_unsigned(negative ? std::string_view(s).substr(1) : std::string_view(s), 1ull << 62);
  if (!v) throw InputError(fmt::format("{}: expected an integer, got '{}'", what, s));
  return negative ? -static_cast<std::int64_t>(*v) : static_cast<std::int64_t>(*v);
}

// range(lo, hi[, step]): lo, lo + step, ... up to hi, both ends included.
std::vector<std::string> expand_range(const std::string& args, const std::string& what) {
  const auto parts = split_items(args, what);
  if (parts.size() != 2 && parts.size() != 3)
    throw InputError(
        fmt::format("{}: expected range(lo, hi) or range(lo, hi, step), got range({})", what, args));
  const std::int64_t lo = parse_integer(parts[0], what), hi = parse_integer(parts[1], what);
  const std::int64_t step = parts.size() == 3 ? parse_integer(parts[2], what) : 1;
  if (step <= 0 || hi < lo)
    throw InputError(fmt::format("{}: range({}) needs lo <= hi and a positive step", what, args));
  if (static_cast<std::uint64_t>((hi - lo) / step) >= kMaxSweepPoints)
    throw InputError(fmt::format("{}: range({}) has more than {} values", what, args, kMaxSweepPoints));
  std::vector<std::string> out;
  for (std::int64_t v = lo; v <= hi; v += step) out.push_back(std::to_string(v));
  return out;
}

// The key before '=' and the text after it.
std::pair<std::string, std::string> split_assignment(std::string_view text, const std::string& where,
                                                     const std::string& form) {
  const auto eq = text.find('=');
  const std::string key = text::trim(text.substr(0, eq == std::string_view::npos ? 0 : eq));
  if (eq == std::string_view::npos || key.empty() || key.find_first_of(" \t") != std::string::npos)
    throw InputError(fmt::format("{} '{}': expected {}", where, text, form));
  return {key, text::trim(text.substr(eq + 1))};
}

// tacsim::Rng is fully specified (SplitMix64), unlike the standard library's distributions: the same seed
// draws the same samples everywhere.
std::string draw(const RandomAxis& a, Rng& rng) {
  switch (a.kind) {
    case RandomAxis::Kind::kUniform:
      return fmt::format("{:.6g}", a.lo + rng.uniform() * (a.hi - a.lo));
    case RandomAxis::Kind::kLogUniform:
      return fmt::format("{:.6g}",
                         std::exp(std::log(a.lo) + rng.uniform() * (std::log(a.hi) - std::log(a.lo))));
    case RandomAxis::Kind::kInt: {
      const auto span = static_cast<std::uint64_t>(a.hi - a.lo) + 1;
      return std::to_string(static_cast<std::int64_t>(a.lo) + static_cast<std::int64_t>(rng.below(span)));
    }
    case RandomAxis::Kind::kChoice:
      return a.choices[rng.below(a.choices.size())];
  }
  return "";
}

}  // namespace

std::vector<std::string> parse_value_list(std::string_view list, const std::string& what) {
  if (text::trim(list).empty()) throw InputError(fmt::format("{}: no values (expected V1,V2,...)", what));
  std::vector<std::string> out;
  for (const std::string& item : split_items(list, what)) {
    const auto call = as_call(item);
    if (call && call->first == "range") {
      for (auto& v : expand_range(call->second, what)) out.push_back(std::move(v));
    } else {
      out.push_back(item);
    }
  }
  return out;
}

std::vector<std::string> parse_metric_list(std::string_view list, const std::string& what) {
  auto names = text::split_list(list, ',', what);
  for (const auto& n : names)
    if (n.find_first_of(" \t\"") != std::string::npos)
      throw InputError(
          fmt::format("{}: '{}' is not a figure name (e.g. cycles, modules.accel.memory.row_hits)", what, n));
  return names;
}

SweepAxis parse_axis(std::string_view text, const std::string& where) {
  auto [key, list] = split_assignment(text, where, "KEY=V1,V2,..., e.g. pe_array.rows=16,32,64");
  return {key, parse_value_list(list, where + " " + key), where};
}

RandomAxis parse_random_axis(std::string_view text, const std::string& where) {
  const std::string form = "KEY=uniform(lo,hi), loguniform(lo,hi), int(lo,hi) or choice(a,b,...)";
  auto [key, dist] = split_assignment(text, where, form);
  const std::string what = where + " " + key;
  const auto call = as_call(dist);
  if (!call) throw InputError(fmt::format("{}: expected {}, got '{}'", what, form.substr(4), dist));
  RandomAxis a;
  a.key = key;
  a.where = where;
  const auto args = split_items(call->second, what);
  const auto& name = call->first;
  if (name == "choice") {
    a.kind = RandomAxis::Kind::kChoice;
    a.choices = args;
    return a;
  }
  if (args.size() != 2)
    throw InputError(fmt::format("{}: {}() takes two bounds, got '{}'", what, name, dist));
  if (name == "int") {
    a.kind = RandomAxis::Kind::kInt;
    a.lo = double(parse_integer(args[0], what));
    a.hi = double(parse_integer(args[1], what));
    if (a.hi < a.lo) throw InputError(fmt::format("{}: int(lo, hi) needs lo <= hi, got '{}'", what, dist));
    return a;
  }
  if (name != "uniform" && name != "loguniform")
    throw InputError(fmt::format("{}: unknown distribution '{}' (expected {})", what, name, form.substr(4)));
  a.kind = name == "uniform" ? RandomAxis::Kind::kUniform : RandomAxis::Kind::kLogUniform;
  a.lo = text::parse_double(args[0], what);
  a.hi = text::parse_double(args[1], what);
  if (!(a.lo < a.hi) || (a.kind == RandomAxis::Kind::kLogUniform && a.lo <= 0))
    throw InputError(fmt::format("{}: {}(lo, hi) needs lo < hi{}, got '{}'", what, name,
                                 name == "loguniform" ? " and lo > 0" : "", dist));
  return a;
}

std::vector<std::string> SweepSpec::parameters() const {
  std::vector<std::string> out;
  for (const auto* axes : {&grid, &zip})
    for (const auto& a : *axes) out.push_back(a.key);
  for (const auto& a : random) out.push_back(a.key);
  return out;
}

void SweepSpec::validate() const {
  if (grid.empty() && zip.empty() && random.empty())
    throw InputError(
        "sweep: nothing to sweep: give --grid, --zip or --random (or a sweep file's [grid], [zip] "
        "or [random])");
  std::map<std::string, std::string> seen;  // key -> where
  auto claim = [&](const std::string& key, const std::string& where) {
    if (const auto it = seen.find(key); it != seen.end())
      throw InputError(fmt::format("{} {}: the key is swept twice (also by {})", where, key, it->second));
    seen[key] = where;
  };
  for (const auto& a : grid) {
    claim(a.key, a.where);
    for (std::size_t i = 0; i < a.values.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (a.values[i] == a.values[j])
          throw InputError(fmt::format("{} {}: the value '{}' is listed twice", a.where, a.key, a.values[i]));
  }
  for (const auto& a : zip) {
    claim(a.key, a.where);
    if (a.values.size() != zip.front().values.size())
      throw InputError(fmt::format("{} {}: zipped lists must have one length: {} has {} values, {} has {}",
                                   a.where, a.key, zip.front().key, zip.front().values.size(), a.key,
                                   a.values.size()));
  }
  for (const auto& a : random) claim(a.key, a.where);
  if (!random.empty() && samples == 0)
    throw InputError(
        fmt::format("{} {}: random keys need a number of samples (--samples N, or samples = N in "
                    "[sweep])",
                    random.front().where, random.front().key));
  if (random.empty() && samples != 0)
    throw InputError("sweep: samples: there is no random key to draw (--random KEY=DIST, or [random])");
  point_count();
}

std::uint64_t SweepSpec::point_count() const {
  std::uint64_t n = 1;
  auto times = [&](std::uint64_t f, const std::string& what) {
    if (f != 0 && n > kMaxSweepPoints / f)
      throw InputError(
          fmt::format("sweep: more than {} points (at {}): sweep fewer values", kMaxSweepPoints, what));
    n *= f;
  };
  for (const auto& a : grid) times(a.values.size(), a.key);
  if (!zip.empty()) times(zip.front().values.size(), zip.front().key);
  if (!random.empty()) times(samples, "samples");
  return n;
}

std::vector<std::vector<std::string>> SweepSpec::expand() const {
  // Every sample draws every random key in order, so sample s is the same whatever the grid holds.
  std::vector<std::vector<std::string>> samples_drawn(random.empty() ? 1 : samples);
  Rng rng(sample_seed);
  for (auto& s : samples_drawn)
    for (const auto& a : random) s.push_back(draw(a, rng));
  const std::size_t zip_rows = zip.empty() ? 1 : zip.front().values.size();

  std::vector<std::vector<std::string>> out;
  out.reserve(point_count());
  std::vector<std::size_t> at(grid.size(), 0);  // an odometer over the grid, last key fastest
  while (true) {
    for (std::size_t z = 0; z < zip_rows; ++z)
      for (const auto& s : samples_drawn) {
        std::vector<std::string> values;
        for (std::size_t g = 0; g < grid.size(); ++g) values.push_back(grid[g].values[at[g]]);
        for (const auto& a : zip) values.push_back(a.values[z]);
        values.insert(values.end(), s.begin(), s.end());
        out.push_back(std::move(values));
      }
    std::size_t g = grid.size();
    while (g > 0 && ++at[g - 1] == grid[g - 1].values.size()) at[--g] = 0;
    if (g == 0) break;
  }
  return out;
}

void read_sweep_file(const std::string& path, SweepSpec& spec) {
  text::KeyValueSyntax syntax;
  syntax.sections = true;
  syntax.comments = "#;";
  for (const auto& line : text::read_key_values(path, syntax, "sweep file")) {
    const std::string where = fmt::format("{}:{}:", path, line.line);
    const auto dot = line.key.find('.');
    const std::string section = dot == std::string::npos ? "" : line.key.substr(0, dot);
    const std::string key = dot == std::string::npos ? line.key : line.key.substr(dot + 1);
    const std::string assignment = key + "=" + line.value;
    if (section == "grid") {
      spec.grid.push_back(parse_axis(assignment, where));
    } else if (section == "zip") {
      spec.zip.push_back(parse_axis(assignment, where));
    } else if (section == "random") {
      spec.random.push_back(parse_random_axis(assignment, where));
    } else if (section == "base") {
      spec.base.push_back(assignment);
    } else if (section == "sweep" && key == "metrics") {
      spec.metrics = parse_metric_list(line.value, where + " metrics");
    } else if (section == "sweep" && key == "samples") {
      spec.samples = text::parse_unsigned(line.value, where + " samples", kMaxSweepPoints);
    } else if (section == "sweep" && key == "seed") {
      spec.sample_seed = text::parse_unsigned(line.value, where + " seed");
    } else if (section == "sweep") {
      throw InputError(
          fmt::format("{} unknown key '{}' in [sweep] (expected metrics, samples or seed)", where, key));
    } else {
      throw InputError(fmt::format(
          "{} '{}' is outside the sections [sweep], [base], [grid], [zip] and [random]", where, line.key));
    }
  }
}

}  // namespace tacsim::sim
