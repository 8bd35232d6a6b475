// Helpers shared by the benchmarks: walking their flags, running a peer baseline script and reading
// its JSON.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tenet/util/isa.h"

namespace tenet::bench {

// Walks argv flag by flag: Next() moves to the next argument, flag() is it, and Value() consumes
// the argument after it, or prints "<bench>: <flag> needs a value" and exits 2.
class FlagWalker {
 public:
  FlagWalker(const char* bench, int argc, char** argv) : bench_(bench), argc_(argc), argv_(argv) {}
  // Every bench also takes `--isa NAME` (tenet/util/isa.h): the first one re-executes the bench
  // under that cap, so it never reaches the bench's own flags.
  bool Next() {
    if (++i_ >= argc_) return false;
    flag_ = argv_[i_];
    if (flag_ == "--isa") {
      const std::string isa = Value();
      const Status s = ReexecUnderIsaCap(isa, argv_);
      if (!s.ok()) {
        std::cerr << bench_ << ": " << s.message() << "\n";
        std::exit(2);
      }
      return Next();
    }
    return true;
  }
  const std::string& flag() const { return flag_; }
  std::string Value() {
    if (i_ + 1 >= argc_) {
      std::cerr << bench_ << ": " << flag_ << " needs a value\n";
      std::exit(2);
    }
    return argv_[++i_];
  }

 private:
  const char* bench_;
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string flag_;
};

// Runs `command` (a peer baseline that prints one JSON object) and parses its stdout; nullopt if
// it fails or prints no JSON.
inline std::optional<nlohmann::json> RunPeer(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
  if (::pclose(p) != 0) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace tenet::bench
