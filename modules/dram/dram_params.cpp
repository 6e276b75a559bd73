#include "modules/dram/dram_params.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "modules/common/clock_rate.h"
#include "modules/common/error.h"
#include "modules/common/text.h"
#include "modules/dram/address_map.h"

namespace tacsim::dram {
namespace {

// One row per field: what it is (FieldInfo) and how to read it from and write it to text.
struct Field {
  FieldInfo info;
  std::string (*set)(Params&, const std::string&);
  std::string (*get)(const Params&);
};

// M: a pointer to a member of DeviceSpec or ControllerSettings of the type the function's name says.
template <auto M>
std::string set_u32(Params& p, const std::string& v) {
  const bool digits = !v.empty() && v.size() <= 10 &&
                      std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  const unsigned long long x = digits ? std::stoull(v) : 0;
  if (!digits || x > 0xffffffffULL) return "expected an unsigned integer, got '" + v + "'";
  p.*M = static_cast<std::uint32_t>(x);
  return "";
}
template <auto M>
std::string get_u32(const Params& p) {
  return std::to_string(p.*M);
}

template <auto M>
std::string set_double(Params& p, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || errno != 0 || !std::isfinite(x)) {
    return "expected a number, got '" + v + "'";
  }
  p.*M = x;
  return "";
}
template <auto M>
std::string get_double(const Params& p) {
  std::ostringstream s;
  s.precision(17);
  s << p.*M;
  return s.str();
}

template <auto M>
std::string set_bool(Params& p, const std::string& v) {
  if (v != "true" && v != "false") return "expected true or false, got '" + v + "'";
  p.*M = v == "true";
  return "";
}
template <auto M>
std::string get_bool(const Params& p) {
  return p.*M ? "true" : "false";
}

std::string set_mapping(Params& p, const std::string& v) {
  if (v.empty()) return "expected a mapping such as RoRaBgBaCoCh, got ''";
  p.address_mapping = v;  // checked against the organisation by validate()
  return "";
}
std::string get_mapping(const Params& p) {
  return p.address_mapping;
}

// A field that takes one of the names of a policy family's table (page_policy.h, scheduler.h).
template <typename Names, typename Kind>
std::string set_named(const Names& names, Kind& field, const std::string& v) {
  std::string known;
  for (const auto& [kind, name] : names) {
    if (v == name) {
      field = kind;
      return "";
    }
    known += known.empty() ? name : std::string(" or ") + name;
  }
  return "expected " + known + ", got '" + v + "'";
}
template <typename Names, typename Kind>
std::string get_named(const Names& names, Kind field) {
  for (const auto& [kind, name] : names)
    if (kind == field) return name;
  return "";
}

std::string set_policy(Params& p, const std::string& v) {
  return set_named(kPagePolicyNames, p.page_policy, v);
}
std::string get_policy(const Params& p) {
  return get_named(kPagePolicyNames, p.page_policy);
}
std::string set_scheduler(Params& p, const std::string& v) {
  return set_named(kSchedulerNames, p.scheduler, v);
}
std::string get_scheduler(const Params& p) {
  return get_named(kSchedulerNames, p.scheduler);
}

constexpr const char* kCycles = "DRAM cycles";

// The one table of DRAM fields: key, unit, meaning, whether a preset must state it, and its text conversions.
const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      {{"clock_mhz", "MHz", "DRAM command clock; data moves on both edges", true},
       set_double<&Params::clock_mhz>,
       get_double<&Params::clock_mhz>},
      {{"channels", "channels", "independent channels, each with its own queue, command and data bus", true},
       set_u32<&Params::channels>,
       get_u32<&Params::channels>},
      {{"ranks", "ranks", "ranks per channel", true}, set_u32<&Params::ranks>, get_u32<&Params::ranks>},
      {{"bankgroups", "bank groups", "bank groups per rank (1: none, as in LPDDR4)", true},
       set_u32<&Params::bankgroups>,
       get_u32<&Params::bankgroups>},
      {{"banks_per_group", "banks", "banks per bank group", true},
       set_u32<&Params::banks_per_group>,
       get_u32<&Params::banks_per_group>},
      {{"rows", "rows", "rows per bank", true}, set_u32<&Params::rows>, get_u32<&Params::rows>},
      {{"columns", "columns", "column addresses per row, each bus_width_bits wide", true},
       set_u32<&Params::columns>,
       get_u32<&Params::columns>},
      {{"bus_width_bits", "bits", "data bus of one channel", true},
       set_u32<&Params::bus_width_bits>,
       get_u32<&Params::bus_width_bits>},
      {{"burst_length", "beats", "beats per access (BL); a burst holds the data bus burst_length / 2 cycles",
        true},
       set_u32<&Params::burst_length>,
       get_u32<&Params::burst_length>},
      {{"CL_cycles", kCycles, "read command to first data beat (CL)", true},
       set_u32<&Params::CL_cycles>,
       get_u32<&Params::CL_cycles>},
      {{"CWL_cycles", kCycles, "write command to first data beat (CWL)", true},
       set_u32<&Params::CWL_cycles>,
       get_u32<&Params::CWL_cycles>},
      {{"tRCD_cycles", kCycles, "ACT to RD/WR, same bank", true},
       set_u32<&Params::tRCD_cycles>,
       get_u32<&Params::tRCD_cycles>},
      {{"tRP_cycles", kCycles, "PRE to ACT, same bank", true},
       set_u32<&Params::tRP_cycles>,
       get_u32<&Params::tRP_cycles>},
      {{"tRAS_cycles", kCycles, "ACT to PRE, same bank", true},
       set_u32<&Params::tRAS_cycles>,
       get_u32<&Params::tRAS_cycles>},
      {{"tRC_cycles", kCycles, "ACT to ACT, same bank", true},
       set_u32<&Params::tRC_cycles>,
       get_u32<&Params::tRC_cycles>},
      {{"tWR_cycles", kCycles, "end of write data to PRE, same bank (write recovery)", true},
       set_u32<&Params::tWR_cycles>,
       get_u32<&Params::tWR_cycles>},
      {{"tRTP_L_cycles", kCycles, "RD to PRE, same bank, bursts of 4 beats or more (HBM2 tRTPL; DDR4 tRTP)",
        true},
       set_u32<&Params::tRTP_L_cycles>,
       get_u32<&Params::tRTP_L_cycles>},
      {{"tRTP_S_cycles", kCycles, "RD to PRE, same bank, bursts of 2 beats (HBM2 tRTPS; elsewhere = tRTP_L)",
        true},
       set_u32<&Params::tRTP_S_cycles>,
       get_u32<&Params::tRTP_S_cycles>},
      {{"tWTR_S_cycles", kCycles, "end of write data to RD, other bank group", true},
       set_u32<&Params::tWTR_S_cycles>,
       get_u32<&Params::tWTR_S_cycles>},
      {{"tWTR_L_cycles", kCycles, "end of write data to RD, same bank group", true},
       set_u32<&Params::tWTR_L_cycles>,
       get_u32<&Params::tWTR_L_cycles>},
      {{"tRRD_S_cycles", kCycles, "ACT to ACT, other bank group", true},
       set_u32<&Params::tRRD_S_cycles>,
       get_u32<&Params::tRRD_S_cycles>},
      {{"tRRD_L_cycles", kCycles, "ACT to ACT, same bank group", true},
       set_u32<&Params::tRRD_L_cycles>,
       get_u32<&Params::tRRD_L_cycles>},
      {{"tCCD_S_cycles", kCycles, "RD to RD or WR to WR, other bank group", true},
       set_u32<&Params::tCCD_S_cycles>,
       get_u32<&Params::tCCD_S_cycles>},
      {{"tCCD_L_cycles", kCycles, "RD to RD or WR to WR, same bank group", true},
       set_u32<&Params::tCCD_L_cycles>,
       get_u32<&Params::tCCD_L_cycles>},
      {{"tFAW_cycles", kCycles, "window holding at most four ACTs of one rank", true},
       set_u32<&Params::tFAW_cycles>,
       get_u32<&Params::tFAW_cycles>},
      {{"tRFC_cycles", kCycles, "all-bank REF to ACT", true},
       set_u32<&Params::tRFC_cycles>,
       get_u32<&Params::tRFC_cycles>},
      {{"tREFI_cycles", kCycles, "average interval between REFs of one rank", true},
       set_u32<&Params::tREFI_cycles>,
       get_u32<&Params::tREFI_cycles>},
      {{"tPPD_cycles", kCycles, "PRE to PRE, same rank (LPDDR4; 0 where the standard has none)", true},
       set_u32<&Params::tPPD_cycles>,
       get_u32<&Params::tPPD_cycles>},
      {{"tRTRS_cycles", kCycles, "idle data-bus cycles between bursts of different ranks", true},
       set_u32<&Params::tRTRS_cycles>,
       get_u32<&Params::tRTRS_cycles>},
      {{"rd_to_wr_gap_cycles", kCycles, "idle data-bus cycles from read data to write data, same rank", true},
       set_u32<&Params::rd_to_wr_gap_cycles>,
       get_u32<&Params::rd_to_wr_gap_cycles>},
      {{"separate_row_column_buses", "",
        "true: a row command (ACT, PRE, REF) and a column command (RD, WR) may issue in one cycle (HBM)",
        true},
       set_bool<&Params::separate_row_column_buses>,
       get_bool<&Params::separate_row_column_buses>},
      {{"address_mapping", "",
        "address bits to fields, most significant first (RoRaBgBaCoCh, rochrababgco), or a named mapping "
        "(address_map.h)",
        false},
       set_mapping,
       get_mapping},
      {{"page_policy", "", "open (rows stay open) or closed (the last queued access to a row precharges)",
        false},
       set_policy,
       get_policy},
      {{"scheduler", "",
        "fr-fcfs (oldest ready row hit, else oldest ready ACT or PRE) or bank-round-robin (DRAMsim3's)",
        false},
       set_scheduler,
       get_scheduler},
      {{"read_queue_bursts", "bursts", "read queue of each channel, in front of the bank queues", false},
       set_u32<&Params::read_queue_bursts>,
       get_u32<&Params::read_queue_bursts>},
      {{"write_buffer_bursts", "bursts", "write buffer of each channel: writes are acknowledged once in it",
        false},
       set_u32<&Params::write_buffer_bursts>,
       get_u32<&Params::write_buffer_bursts>},
      {{"write_high_watermark_bursts", "bursts", "write-buffer occupancy that starts a drain of writes",
        false},
       set_u32<&Params::write_high_watermark_bursts>,
       get_u32<&Params::write_high_watermark_bursts>},
      {{"write_low_watermark_bursts", "bursts", "write-buffer occupancy that ends a drain", false},
       set_u32<&Params::write_low_watermark_bursts>,
       get_u32<&Params::write_low_watermark_bursts>},
      {{"bank_queue_bursts", "bursts", "command queue of each bank: the bursts the scheduler chooses among",
        false},
       set_u32<&Params::bank_queue_bursts>,
       get_u32<&Params::bank_queue_bursts>},
      {{"row_hit_cap", "bursts", "row hits since ACT past which a waiting request for another row goes first",
        false},
       set_u32<&Params::row_hit_cap>,
       get_u32<&Params::row_hit_cap>},
      {{"refresh_enabled", "", "true: all-bank REF of every rank each tREFI, staggered across ranks", false},
       set_bool<&Params::refresh_enabled>,
       get_bool<&Params::refresh_enabled>},
  };
  return table;
}

const Field* find_field(const std::string& key) {
  for (const Field& f : fields()) {
    if (key == f.info.name) return &f;
  }
  return nullptr;
}

bool is_power_of_two(std::uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// "name: must be at least <what> = <bound>, got <value>" when value < bound.
std::string at_least(const char* name, std::uint64_t value, std::uint64_t bound,
                     const std::string& what = "") {
  if (value >= bound) return "";
  return std::string(name) + ": must be at least " + (what.empty() ? "" : what + " = ") +
         std::to_string(bound) + ", got " + std::to_string(value);
}

}  // namespace

std::uint64_t DeviceSpec::capacity_bytes() const {
  return std::uint64_t{channels} * ranks * bankgroups * banks_per_group * rows * columns *
         (bus_width_bits / 8);
}

std::string Params::validate() const {
  if (const std::string e = clock_mhz_error(clock_mhz); !e.empty()) return "clock_mhz: " + e;
  const std::pair<const char*, std::uint32_t> counts[] = {{"channels", channels},
                                                          {"ranks", ranks},
                                                          {"bankgroups", bankgroups},
                                                          {"banks_per_group", banks_per_group},
                                                          {"rows", rows},
                                                          {"columns", columns},
                                                          {"bus_width_bits", bus_width_bits},
                                                          {"burst_length", burst_length}};
  for (const auto& [name, value] : counts) {
    if (!is_power_of_two(value)) {
      return std::string(name) + ": must be a power of two (the address map slices bit fields), got " +
             std::to_string(value);
    }
  }
  std::string e;
  if (!(e = at_least("bus_width_bits", bus_width_bits, 8)).empty()) return e;
  if (!(e = at_least("burst_length", burst_length, 2)).empty()) return e;
  if (!(e = at_least("columns", columns, burst_length, "burst_length")).empty()) return e;
  // 2^48 bytes keeps every address and product well inside 64 bits.
  std::uint64_t bits = 0;
  for (const auto& c : counts) bits += static_cast<std::uint64_t>(std::log2(c.second));
  if (bits > 48 + 3) return "rows: total capacity exceeds 2^48 bytes";

  const std::pair<const char*, std::uint32_t> positive[] = {
      {"CL_cycles", CL_cycles},         {"CWL_cycles", CWL_cycles},       {"tRCD_cycles", tRCD_cycles},
      {"tRP_cycles", tRP_cycles},       {"tWR_cycles", tWR_cycles},       {"tRTP_S_cycles", tRTP_S_cycles},
      {"tWTR_S_cycles", tWTR_S_cycles}, {"tRRD_S_cycles", tRRD_S_cycles}, {"tCCD_S_cycles", tCCD_S_cycles},
      {"tRFC_cycles", tRFC_cycles}};
  for (const auto& [name, value] : positive) {
    if (!(e = at_least(name, value, 1)).empty()) return e;
  }
  // JEDEC consistency: a row must be open long enough to be read (tRAS >= tRCD), a row cycle holds an open
  // and a precharge (tRC >= tRAS + tRP), the _L (same bank group) figures are never shorter than the _S ones,
  // and four ACTs at tRRD_S must fit in one tFAW window or the figures contradict each other.
  if (!(e = at_least("tRAS_cycles", tRAS_cycles, tRCD_cycles, "tRCD_cycles")).empty()) return e;
  if (!(e = at_least("tRC_cycles", tRC_cycles, std::uint64_t{tRAS_cycles} + tRP_cycles,
                     "tRAS_cycles + tRP_cycles"))
           .empty()) {
    return e;
  }
  if (!(e = at_least("tWTR_L_cycles", tWTR_L_cycles, tWTR_S_cycles, "tWTR_S_cycles")).empty()) return e;
  if (!(e = at_least("tRRD_L_cycles", tRRD_L_cycles, tRRD_S_cycles, "tRRD_S_cycles")).empty()) return e;
  if (!(e = at_least("tCCD_L_cycles", tCCD_L_cycles, tCCD_S_cycles, "tCCD_S_cycles")).empty()) return e;
  if (!(e = at_least("tFAW_cycles", tFAW_cycles, 4 * std::uint64_t{tRRD_S_cycles}, "4 * tRRD_S_cycles"))
           .empty()) {
    return e;
  }
  // A refresh restores every row of a bank, so it lasts at least one row cycle; it must also leave time
  // between refreshes for anything else to happen.
  if (!(e = at_least("tRFC_cycles", tRFC_cycles, tRC_cycles, "tRC_cycles")).empty()) return e;
  if (!(e = at_least("tREFI_cycles", tREFI_cycles, std::uint64_t{tRFC_cycles} + 1, "tRFC_cycles + 1"))
           .empty()) {
    return e;
  }
  if (!(e = at_least("tRTP_L_cycles", tRTP_L_cycles, tRTP_S_cycles, "tRTP_S_cycles")).empty()) return e;
  if (!(e = at_least("read_queue_bursts", read_queue_bursts, 1)).empty()) return e;
  if (!(e = at_least("write_buffer_bursts", write_buffer_bursts, 1)).empty()) return e;
  if (!(e = at_least("bank_queue_bursts", bank_queue_bursts, 1)).empty()) return e;
  if (!(e = at_least("write_high_watermark_bursts", write_high_watermark_bursts, 1)).empty()) return e;
  if (write_high_watermark_bursts > write_buffer_bursts) {
    return "write_high_watermark_bursts: must be at most write_buffer_bursts = " +
           std::to_string(write_buffer_bursts) + ", got " + std::to_string(write_high_watermark_bursts);
  }
  if (write_low_watermark_bursts >= write_high_watermark_bursts) {
    return "write_low_watermark_bursts: must be below write_high_watermark_bursts = " +
           std::to_string(write_high_watermark_bursts) + ", got " +
           std::to_string(write_low_watermark_bursts);
  }
  if (!(e = at_least("row_hit_cap", row_hit_cap, 1)).empty()) return e;
  return AddressMap::check(*this);
}

std::string set_field(Params& params, const std::string& key, const std::string& value) {
  const Field* f = find_field(key);
  if (key == "queue_depth_bursts")
    return "queue_depth_bursts: replaced by read_queue_bursts, write_buffer_bursts and bank_queue_bursts";
  if (key == "tRTP_cycles") return "tRTP_cycles: replaced by tRTP_L_cycles and tRTP_S_cycles";
  if (f == nullptr) return "unknown key '" + key + "'";
  const std::string error = f->set(params, value);
  return error.empty() ? "" : key + ": " + error;
}

std::string get_field(const Params& params, const std::string& key) {
  const Field* f = find_field(key);
  return f == nullptr ? "" : f->get(params);
}

const std::vector<FieldInfo>& field_infos() {
  static const std::vector<FieldInfo> infos = [] {
    std::vector<FieldInfo> v;
    for (const Field& f : fields()) v.push_back(f.info);
    return v;
  }();
  return infos;
}

std::vector<std::string> field_names() {
  std::vector<std::string> names;
  for (const Field& f : fields()) names.emplace_back(f.info.name);
  return names;
}

std::string to_ini(const Params& params) {
  std::string device, controller;
  for (const Field& f : fields())
    (f.info.device ? device : controller) += std::string(f.info.name) + " = " + f.get(params) + "\n";
  return device + "\n[controller]\n" + controller;
}

Params load_preset_file(const std::string& path) {
  std::ifstream in = text::open_input(path, "dram preset");
  Params params;
  std::map<std::string, int> line_of;
  std::string line;
  bool in_controller = false;  // after the `[controller]` header
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    const std::string text = trim(line.substr(0, line.find('#')));
    if (text.empty()) continue;
    if (text.front() == '[') {
      if (text != "[controller]" || in_controller)
        throw InputError(where + "expected one '[controller]' section after the device fields, got '" + text +
                         "'");
      in_controller = true;
      continue;
    }
    const auto eq = text.find('=');
    const std::string key = eq == std::string::npos ? "" : trim(text.substr(0, eq));
    const std::string value = eq == std::string::npos ? "" : trim(text.substr(eq + 1));
    if (key.empty() || value.empty()) throw InputError(where + "expected 'key = value', got '" + text + "'");
    if (line_of.count(key) != 0) {
      throw InputError(where + "key '" + key + "' already set on line " + std::to_string(line_of[key]));
    }
    const std::string error = set_field(params, key, value);
    if (!error.empty()) throw InputError(where + error);
    if (find_field(key)->info.device == in_controller) {
      throw InputError(where + key +
                       (in_controller ? ": a device field, expected before the [controller] section"
                                      : ": a controller setting, expected in the [controller] section"));
    }
    line_of[key] = number;
  }
  // A preset states every figure of its device, so that none silently falls back to a default of another one.
  for (const Field& f : fields()) {
    if (f.info.device && line_of.count(f.info.name) == 0)
      throw InputError(path + ": missing key '" + f.info.name + "'");
  }
  const std::string error = params.validate();
  if (!error.empty()) {
    const std::string key = error.substr(0, error.find(':'));
    const auto it = line_of.find(key);
    throw InputError(path + (it == line_of.end() ? "" : ":" + std::to_string(it->second)) + ": " + error);
  }
  return params;
}

std::vector<std::string> preset_names(const std::string& presets_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(presets_dir, ec)) {
    if (entry.path().extension() == ".ini") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Params load_preset(const std::string& name, const std::string& presets_dir) {
  const bool plain = !name.empty() && name[0] != '.' && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  const std::string path = presets_dir + "/" + name + ".ini";
  if (!plain || !std::filesystem::is_regular_file(path)) {
    std::string known;
    for (const std::string& n : preset_names(presets_dir)) known += (known.empty() ? "" : ", ") + n;
    throw InputError("dram preset '" + name + "': no file " + path +
                     " (known presets: " + (known.empty() ? "none" : known) + ")");
  }
  return load_preset_file(path);
}

std::string default_presets_dir() {
  if (const char* env = std::getenv("TACSIM_DRAM_PRESETS_DIR"); env != nullptr && *env != '\0') return env;
#ifdef TACSIM_DRAM_PRESETS_DIR
  return TACSIM_DRAM_PRESETS_DIR;  // the source tree's presets folder, set by modules/dram/CMakeLists.txt
#else
  return "modules/dram/presets";
#endif
}

}  // namespace tacsim::dram
