// Helpers shared by the test suites: where the source tree, build tree and fixtures are, and a
// scratch directory per test.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tenet::testing {

// Environment set by ctest (tests/CMakeLists.txt); falls back to the compile-time paths.
std::string SourceDir();
std::string BinaryDir();
std::string TenetBin();           // path of the tenet executable
std::string NodeModules();        // tests/node/node_modules
std::string NodeBin();            // the Node.js that scripts/setup installs there (Node.js 24)
std::string Llama3TokenizerDir(); // Meta's tokenizer.json + tokenizer_config.json (npm fixture)

// A fresh empty directory under the build tree, unique to the current test (outside a test, as in
// SetUpTestSuite: to this process); left in place afterwards for inspection. Each call empties it
// again: call it once per test.
std::string ScratchDir();

// A directory of test fixtures shared by every test process (ctest runs each test in its own
// process, in parallel). It lives at <build>/test-fixtures/<name>-<hash of key>, so a change to
// what the fixtures depend on (put it in `key`) builds new ones. `make(dir)` fills a private
// temp directory that is then renamed into place atomically: concurrent processes never see a
// half-made fixture, and the loser of a race simply uses the winner's. Returns "" if make fails.
std::string SharedFixtureDir(const std::string& name, const std::string& key,
                             const std::function<bool(const std::string& dir)>& make);

// The fixtures several suites share (both built once per build tree via SharedFixtureDir):
// the Python reference's random models and expected outputs (`llama_reference.py make-fixtures`,
// keyed by the script's content), and a tiny fp32 model made by `tenet model init` with Meta's
// Llama 3 tokenizer (keyed by the binary's size and mtime). Return "" on failure with the
// command's output in *log.
std::string ReferenceFixtures(std::string* log);
std::string CliTinyModel(std::string* log);
// "/usr/bin/python3 <source>/tests/reference/llama_reference.py" (Debian's python3 has torch).
std::string ReferenceScript();

// Runs a shell command; returns its exit code and captures stdout (and stderr if merge_stderr).
struct CommandResult {
  int exit_code = -1;
  std::string out;
};
CommandResult RunCommand(const std::string& command, bool merge_stderr = false);

// "<quoted tenet binary> <args>", for RunCommand.
std::string TenetCommand(const std::string& args);

// One JSON value per non-empty line of `text` (JSONL output of the CLI).
std::vector<nlohmann::json> ParseJsonLines(const std::string& text);

// Single-quotes `s` for /bin/sh.
std::string ShellQuote(const std::string& s);

}  // namespace tenet::testing
