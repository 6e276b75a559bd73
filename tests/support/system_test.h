#pragma once
// What every system test needs: a fresh folder per test, the tacsim binary run as a user runs it (exit code,
// stdout, stderr), and the files it writes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>
#include <nlohmann/json.hpp>

namespace tacsim::testing_support {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct Result {
  int code = -1;
  std::string out, err;
};

// Under AddressSanitizer, an exception thrown on a SystemC thread's own stack (a trace's bad line found
// during the run) makes ASan print a three-line warning about that stack (google/sanitizers#189) before
// tacsim's own message. It is the sanitizer's, not tacsim's: the tests compare what tacsim prints.
inline std::string without_asan_stack_warning(const std::string& err) {
  const std::string marker = "WARNING: ASan is ignoring requested __asan_handle_no_return";
  std::istringstream in(err);
  std::string out, line;
  int skip = 0;
  while (std::getline(in, line)) {
    if (line.find(marker) != std::string::npos) {
      skip = 2;  // and "False positive error reports may follow", "For details see ..."
      continue;
    }
    if (skip > 0 && (line.rfind("False positive", 0) == 0 || line.rfind("For details see", 0) == 0)) {
      --skip;
      continue;
    }
    out += line + "\n";
  }
  if (!err.empty() && err.back() != '\n' && !out.empty()) out.pop_back();
  return out;
}

class SystemTest : public testing::Test {
 protected:
  void SetUp() override {
    // One folder per test and process: CTest runs the tests in parallel.
    dir_ = fs::temp_directory_path() /
           ("tacsim-" +
            std::string(testing::UnitTest::GetInstance()->current_test_info()->test_suite_name()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `tacsim <args>` and collects what it printed.
  Result tacsim(const std::string& args) {
    const fs::path o = dir_ / "stdout.txt", e = dir_ / "stderr.txt";
    const std::string cmd = std::string(TACSIM_BINARY) + " " + args + " >" + o.string() + " 2>" + e.string();
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(o);
    r.err = without_asan_stack_warning(slurp(e));
    return r;
  }

  nlohmann::json stats(const std::string& out) {
    return nlohmann::json::parse(slurp(dir_ / out / "stats.json"));
  }

  fs::path dir_;
};

}  // namespace tacsim::testing_support
