#pragma once
// Parameters of one DRAM subsystem, in two parts: the device spec (organisation and JEDEC timings: what a
// preset holds, every figure with its source) and the controller settings (policies and queue sizes: choices
// with defaults). Every field is also a config key `dram.<field>`, described in one table (field_infos()).
// Presets live in modules/dram/presets/<name>.ini: every device field, `key = value` per line, then
// optionally a
// `[controller]` section with the settings a preset recommends for its organisation (its address mapping).
#include <cstdint>
#include <string>
#include <vector>

#include "modules/dram/page_policy.h"
#include "modules/dram/scheduler.h"

namespace tacsim::dram {

// Defaults describe one rank of DDR4-3200 (see presets/ddr4-3200.ini for the sources of each figure).
// Timing fields follow JEDEC names; all of them count DRAM clock cycles (nCK), hence the `_cycles` suffix.
struct DeviceSpec {
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

  // Timings.
  std::uint32_t CL_cycles = 22;        // read command to first data beat
  std::uint32_t CWL_cycles = 16;       // write command to first data beat
  std::uint32_t tRCD_cycles = 22;      // ACT to RD/WR, same bank
  std::uint32_t tRP_cycles = 22;       // PRE to ACT, same bank
  std::uint32_t tRAS_cycles = 52;      // ACT to PRE, same bank
  std::uint32_t tRC_cycles = 74;       // ACT to ACT, same bank
  std::uint32_t tWR_cycles = 24;       // end of write data to PRE, same bank
  std::uint32_t tRTP_L_cycles = 12;    // RD to PRE, same bank, with a long burst (BL >= 4)
  std::uint32_t tRTP_S_cycles = 12;    // RD to PRE, same bank, with a short burst (BL2: HBM2 only)
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
  // Separate row (ACT, PRE, REF) and column (RD, WR) command buses: one of each may issue per cycle (HBM).
  bool separate_row_column_buses = false;

  std::uint32_t burst_cycles() const { return burst_length / 2; }
  std::uint32_t tRTP_cycles() const { return burst_length > 2 ? tRTP_L_cycles : tRTP_S_cycles; }
  std::uint32_t burst_bytes() const { return bus_width_bits / 8 * burst_length; }
  std::uint64_t capacity_bytes() const;  // all channels
};

// Choices of the memory controller, each with a default, so that a preset states only what its device is.
// Queue sizes follow DRAMsim3's DDR4 and HBM2 configs (trans_queue_size = 32 for its read queue and write
// buffer, cmd_queue_size = 8 per bank), so that the two simulators can be compared queue for queue.
struct ControllerSettings {
  std::string address_mapping = "RoRaBaCoBgCh";  // fields or a name, see address_map.h
  PagePolicyKind page_policy = PagePolicyKind::kOpen;
  SchedulerKind scheduler = SchedulerKind::kFrFcfs;
  std::uint32_t read_queue_bursts = 32;            // per channel, waiting for room in their bank's queue
  std::uint32_t write_buffer_bursts = 32;          // per channel; writes are acknowledged once in it
  std::uint32_t write_high_watermark_bursts = 32;  // a drain of the write buffer starts at this occupancy
  std::uint32_t write_low_watermark_bursts = 0;    // and ends at this one
  std::uint32_t bank_queue_bursts = 8;             // per bank: the bursts the scheduler chooses among
  // Row hits served since the row opened, past which a waiting request for another row of the bank goes
  // first (DRAMsim3 command_queue.cc ArbitratePrecharge: 4).
  std::uint32_t row_hit_cap = 4;
  bool refresh_enabled = true;
};

// The whole subsystem. Its fields are flat, as the config keys are (`dram.tRCD_cycles`, `dram.row_hit_cap`).
struct Params : DeviceSpec, ControllerSettings {
  // "" when valid, else one line starting with the offending field's name, e.g. "tRC_cycles: must be ...".
  std::string validate() const;
};

// One row of the field table: the key (equal to the member's name), its unit ("" for names and flags) and a
// one-line meaning. `device` fields are what a preset must state; the others are controller settings.
struct FieldInfo {
  const char* name;
  const char* unit;
  const char* meaning;
  bool device;
};
const std::vector<FieldInfo>& field_infos();  // every field, in declaration order
std::vector<std::string> field_names();       // the same names

// Sets one field from text, as the config layer does for `dram.<key> = <value>`. Returns "" on success, else
// a one-line message starting with the key ("tRCD_cycles: expected an unsigned integer, got 'x'").
std::string set_field(Params& params, const std::string& key, const std::string& value);
std::string get_field(const Params& params, const std::string& key);  // "" for an unknown key

// Reads `<presets_dir>/<name>.ini`. Every device field must be given exactly once, controller settings at
// most once and only in the `[controller]` section. Throws tacsim::InputError naming the file and line (or
// the preset name and the known presets) on any problem, including a failed validate().
Params load_preset(const std::string& name, const std::string& presets_dir);
Params load_preset_file(const std::string& path);

// Names of the presets found in a folder, sorted.
std::vector<std::string> preset_names(const std::string& presets_dir);

// The bundled presets: $TACSIM_DRAM_PRESETS_DIR when set, else the source tree's modules/dram/presets.
std::string default_presets_dir();

// The device fields, then a `[controller]` section with every setting; load_preset_file() of this text gives
// back the same Params.
std::string to_ini(const Params& params);

}  // namespace tacsim::dram
