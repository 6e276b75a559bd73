#pragma once
// A run's result folder is all or nothing. Its files are written into a hidden staging folder beside --out
// (`.NAME.partial.PID`); once the run has written them all, commit() swaps the staging folder with --out in
// one rename (Linux renameat2 RENAME_EXCHANGE) and removes the previous set. A run that fails, is killed or
// stopped leaves --out as it was: the previous complete set, or nothing. SIGINT and SIGTERM stop the run at
// once: the staging folder is removed, one line says so, and the exit code is 130 or 143. Staging folders
// that a killed run (kill -9) left behind are removed by the next run beside them. Files staged beside the
// set (stage_file) follow the same rule.
#include <string>
#include <utility>
#include <vector>

namespace tacsim::sim {

class ResultSet {
 public:
  // Checks --out (an existing folder must be empty or hold a tacsim result: stats.json), creates its parent
  // and the staging folder, and takes over SIGINT and SIGTERM; throws InputError naming the folder otherwise.
  explicit ResultSet(const std::string& out_dir);
  ~ResultSet();
  ResultSet(const ResultSet&) = delete;
  ResultSet& operator=(const ResultSet&) = delete;

  // Where the run writes its files until commit().
  const std::string& staging_dir() const { return staging_; }
  // A file the run writes beside the set (a VCD at the user's path): the run writes it at the returned path,
  // and commit() renames it into place once the set is, so the file too is complete or absent. A path
  // directly in --out is staged inside the set. Throws InputError naming `option` when the path is a folder,
  // deeper inside --out, or its folder cannot be made.
  std::string stage_file(const std::string& path, const std::string& option);
  // Puts the complete set in place of --out; the previous set, if any, is removed; then the staged files.
  void commit();

 private:
  std::string out_;
  std::string staging_;
  std::vector<std::pair<std::string, std::string>> side_files_;  // staged path, final path (beside --out)
  bool committed_ = false;
};

}  // namespace tacsim::sim
