#pragma once
// Where tacsim finds its data files (the model zoo, the DRAM presets), so that the binary runs from any
// folder, built or installed. Plain C++: no SystemC.
#include <string>

namespace tacsim {

// The folder of one kind of data file, the first of:
//   1. $<env_var>, when set and not empty (a user's own zoo or presets);
//   2. <prefix>/share/tacsim/<installed_name> beside an installed binary (<prefix>/bin/tacsim), found from
//      the running executable's path;
//   3. `source_dir`, the source tree the binary was built from.
std::string data_dir(const char* env_var, const std::string& installed_name, const std::string& source_dir);

}  // namespace tacsim
