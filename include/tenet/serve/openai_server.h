// The OpenAI-compatible HTTP server behind `tenet serve`: POST /v1/chat/completions and
// /v1/completions (plain and streamed as server-sent events), GET /v1/models, GET /health,
// GET /metrics (serve/metrics.h), POST /tokenize and /detokenize, on http::GuardedServer. Requests from every connection share
// one GenerationService, so they decode together in the engine's batch (continuous batching).
//
// Shapes follow OpenAI's API field by field (openai_request.h reads the requests); errors are
// {"error": {"message", "type", "param", "code"}} with 400 / 401 / 404 / 413 / 429 / 503, and 500
// only for our own bugs (logged, never detailed to the client).
//
// Several LoRA adapters are served from one base: a request picks one by "model", and requests for
// different adapters and the base decode in one batch (model/row_lora.h). POST
// /v1/load_lora_adapter and /v1/unload_lora_adapter (vLLM's names and bodies, admin key only)
// change the set while the server runs; requests already running on an unloaded adapter finish.
//
// Not for: TLS (put a reverse proxy in front).
// Thread-safety: handlers run on the HTTP worker threads; Stop() may be called from any thread
// (a signal handler's thread included).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tenet/data/completion_encoder.h"
#include "tenet/generate/service.h"
#include "tenet/http/guarded_server.h"
#include "tenet/model/row_lora.h"
#include "tenet/serve/metrics.h"
#include "tenet/tokenizer/tokenizer.h"

namespace tenet::serve {

struct ServerOptions {
  std::string model_id = "tenet";    // what clients pass as "model" and GET /v1/models lists
  int32_t max_batch = 16;            // sequences decoded together (engine slots); a request's n must fit
  int64_t max_model_len = 0;         // prompt + completion tokens per sequence; 0: the model's, at most 4096
  int64_t max_queue = 256;           // requests waiting beyond the running ones; more get 429
  int32_t prefill_chunk = 256;       // prompt tokens per prefill pass (one pass per step while others decode)
  std::vector<std::string> api_keys; // accepted bearer tokens; empty: no key needed
  std::vector<std::string> admin_keys;  // may load and unload adapters; empty: those routes are off
  bool log_prompts = false;          // the access log shows prompt text only when asked
  http::Limits http = DefaultLimits();  // connection limits (body size: 413 above it)
  static http::Limits DefaultLimits() {
    http::Limits l;
    l.max_body_bytes = 8u << 20;  // a long chat is well under 1 MiB
    // Streams hold their connection (and a worker thread) for their whole answer, and apps often
    // reach the server through one proxy address: more of both than the portal's defaults.
    l.threads = 256;
    l.max_connections_per_client = 128;
    return l;
  }
  std::function<void(const std::string&)> log;  // access and error log lines; null: stderr
};

class OpenAiServer {
 public:
  explicit OpenAiServer(ServerOptions options);
  ~OpenAiServer();

  // Binds host:port (0: any free port) and serves in a background thread; returns the port.
  // Until Attach, every route but /health answers 503 and /health says the model is loading.
  Result<int> Start(const std::string& host, int port);
  // Serves `model` with `tokenizer` (both must outlive the server). `stop_ids`: tokens that end a
  // completion (EOS ids; chat adds the template's end-of-turn token itself).
  Status Attach(LlamaForCausalLM& model, const Tokenizer& tokenizer, std::vector<int32_t> stop_ids);
  // Serves `adapter` (made for the attached model) under its name next to the base: requests pick
  // it by "model". InvalidArgument if the name is taken (the base's included).
  Status AddAdapter(std::shared_ptr<const ServedAdapter> adapter, const std::string& path);
  // Stops accepting; in-flight requests get up to `grace` to finish, then are cancelled.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));
  // Blocks until the server stopped.
  void Wait();

  int64_t in_flight() const { return in_flight_.load(); }

  struct Backend;  // the attached model: service, tokenizer, encoder (private to openai_server.cpp)

 private:
  void Routes();
  void Log(const std::string& line) const;

  ServerOptions options_;
  std::unique_ptr<http::GuardedServer> server_;
  // Set once by Attach, read by handlers. A mutex rather than std::atomic_load on the shared_ptr,
  // which GCC 14 (Debian 13) deprecates and C++20's std::atomic<std::shared_ptr> GCC 12 lacks.
  std::shared_ptr<Backend> backend() const {
    std::lock_guard<std::mutex> lock(backend_mu_);
    return backend_;
  }
  mutable std::mutex backend_mu_;
  std::shared_ptr<Backend> backend_;  // GUARDED_BY(backend_mu_)
  std::atomic<int64_t> in_flight_{0};
  Metrics metrics_;
  mutable std::mutex adapters_mu_;
  std::map<std::string, std::pair<std::shared_ptr<const ServedAdapter>, std::string>> adapters_;  // GUARDED_BY(adapters_mu_): name -> adapter, path
  std::atomic<bool> stopping_{false};
  std::thread listener_;
};

}  // namespace tenet::serve
