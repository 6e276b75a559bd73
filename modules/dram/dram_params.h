#pragma once
// Parameters of one DRAM subsystem: device organisation, JEDEC timings in DRAM clock cycles, controller
// policies; and the loader for the bundled presets (modules/dram/presets/<name>.ini, one `key = value` per
// line).
#include <cstdint>
#include <string>
#include <vector>

namespace tacsim::dram {

enum class PagePolicy {
  kOpen,    // rows stay open after an access until a conflict or a refresh closes them
  kClosed,  // the last queued access to a row auto-precharges (RDA/WRA)
};

// Defaults describe one rank of DDR4-3200 (see presets/ddr4-3200.ini for the sources of each figure).
// Timing fields follow JEDEC names; all of them count DRAM clock cycles (nCK), hence the `_cycles` suffix.
struct Params {
  // Organisation. Every count is a power of two because the address map slices the address into bit fields.
  double clock_mhz = 1600.0;     // DRAM command clock; data moves on both edges
  std::uint32_t channels = 1;    // independent channels, each with its own queue, command and data bus
  std::uint32_t ranks = 1;       // per channel
  std::uint32_t bankgroups = 4;  // per rank; 1 for devices without bank groups (LPDDR4)
  std::uint32_t banks_per_group = 4;
  std::uint32_t rows = 65536;         // per bank
  std::uint32_t columns = 1024;       // column addresses per row; one column is bus_width_bits wide
  std::uint32_t bus_width_bits = 64;  // data bus of one channel
  std::uint32_t burst_length = 8;     // beats per access (BL); the data bus is busy burst_length / 2 cycles

  // Device timings.
  std::uint32_t CL_cycles = 22;        // read command to first data beat
  std::uint32_t CWL_cycles = 16;       // write command to first data beat
  std::uint32_t tRCD_cycles = 22;      // ACT to RD/WR, same bank
  std::uint32_t tRP_cycles = 22;       // PRE to ACT, same bank
  std::uint32_t tRAS_cycles = 52;      // ACT to PRE, same bank
  std::uint32_t tRC_cycles = 74;       // ACT to ACT, same bank
  std::uint32_t tWR_cycles = 24;       // end of write data to PRE, same bank
  std::uint32_t tRTP_cycles = 12;      // RD to PRE, same bank
  std::uint32_t tWTR_S_cycles = 4;     // end of write data to RD, other bank group
  std::uint32_t tWTR_L_cycles = 12;    // end of write data to RD, same bank group
  std::uint32_t tRRD_S_cycles = 4;     // ACT to ACT, other bank group
  std::uint32_t tRRD_L_cycles = 8;     // ACT to ACT, same bank group
  std::uint32_t tCCD_S_cycles = 4;     // RD to RD or WR to WR, other bank group
  std::uint32_t tCCD_L_cycles = 8;     // RD to RD or WR to WR, same bank group
  std::uint32_t tFAW_cycles = 34;      // at most four ACTs per rank in any window this long
  std::uint32_t tRFC_cycles = 560;     // all-bank REF to ACT
  std::uint32_t tREFI_cycles = 12480;  // average interval between REFs of one rank
  std::uint32_t tPPD_cycles = 0;       // PRE to PRE, same rank (LPDDR4); 0 where the standard has none
  std::uint32_t tRTRS_cycles = 1;  // idle data-bus cycles when consecutive bursts come from different ranks
  std::uint32_t rd_to_wr_gap_cycles = 2;  // idle data-bus cycles from read data to write data, same rank

  // Controller.
  std::string address_mapping = "RoRaBaCoBgCh";  // fields most significant first, see address_map.h
  PagePolicy page_policy = PagePolicy::kOpen;
  std::uint32_t queue_depth_bursts = 32;  // per channel
  std::uint32_t row_hit_cap = 16;         // row hits served in a row while a request for another row waits
  bool refresh_enabled = true;

  std::uint32_t burst_cycles() const { return burst_length / 2; }
  std::uint32_t burst_bytes() const { return bus_width_bits / 8 * burst_length; }
  std::uint64_t capacity_bytes() const;  // all channels

  // "" when valid, else one line starting with the offending field's name, e.g. "tRC_cycles: must be ...".
  std::string validate() const;
};

// Reads `<presets_dir>/<name>.ini`. Every field must be given exactly once. Throws tacsim::InputError naming
// the file and line (or the preset name and the known presets) on any problem, including a failed validate().
Params load_preset(const std::string& name, const std::string& presets_dir);
Params load_preset_file(const std::string& path);

// Names of the presets found in a folder, sorted.
std::vector<std::string> preset_names(const std::string& presets_dir);

// The bundled presets: $TACSIM_DRAM_PRESETS_DIR when set, else the source tree's modules/dram/presets.
std::string default_presets_dir();

// Sets one field from text, as the config layer does for `dram.<key> = <value>`. Returns "" on success, else
// a one-line message starting with the key ("tRCD_cycles: expected an unsigned integer, got 'x'").
std::string set_field(Params& params, const std::string& key, const std::string& value);
std::string get_field(const Params& params, const std::string& key);  // "" for an unknown key
std::vector<std::string> field_names();                               // every key, in declaration order

// One `key = value` line per field; load_preset_file() of this text gives back the same Params.
std::string to_ini(const Params& params);

}  // namespace tacsim::dram
