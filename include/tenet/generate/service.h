// A thread-safe front for the generation Engine: any thread submits a request and reads its token
// stream (tokens as they are sampled, then one finish event per sample) or cancels it; one worker
// thread owns the engine and steps it, so requests from many callers share the batched decode.
// This is what the OpenAI-compatible server puts behind its HTTP handlers.
//
// Thread-safety: Submit, Stream::Next and Stream::Cancel are safe from any thread. Destroying the
// service cancels every unfinished request and joins the worker; streams held by callers stay
// valid and report their samples as cancelled.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tenet/generate/engine.h"

namespace tenet {

class GenerationService {
 public:
  class Stream {
   public:
    // Blocks until the next event of this request. Returns false once every sample has finished
    // and all events were read (or the engine failed: see status()).
    bool Next(GenerationEvent* event);
    // The same, waiting at most `timeout`: kTimeout when nothing arrived in that time (a server
    // sends a keep-alive then), kEnd where Next would return false.
    enum class Wait { kEvent, kTimeout, kEnd };
    Wait NextFor(GenerationEvent* event, std::chrono::milliseconds timeout);
    // Asks the engine to stop this request; its unfinished samples end with kCancelled.
    void Cancel();
    // OK, or the engine's error if generation failed.
    Status status();

   private:
    friend class GenerationService;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<GenerationEvent> events_;  // GUARDED_BY(mu_)
    int32_t unfinished_ = 0;              // GUARDED_BY(mu_): samples without a finish event yet
    Status status_;                       // GUARDED_BY(mu_)
    std::weak_ptr<void> control_;  // the service's queues; expired once it is gone
    uint64_t ticket_ = 0;
  };

  // Starts the worker thread. The model must outlive the service.
  static Result<std::unique_ptr<GenerationService>> Start(LlamaForCausalLM& model, const EngineOptions& options);
  ~GenerationService();

  // Stops taking requests and cancels every unfinished one (their streams end with kCancelled
  // at the worker's next step); the worker exits once the engine is idle. The destructor does this
  // and joins the worker.
  void Shutdown();

  // The engine's load after its last step (requests waiting and running, slots in use); any thread.
  Engine::Load load() const {
    std::lock_guard<std::mutex> lock(control_->mu);
    return control_->load;
  }

  // Validates on the caller's thread (InvalidArgument as Engine::Add) and queues the request.
  // After the engine failed, returns its error (the worker is gone); while shutting down,
  // ResourceExhausted.
  Result<std::shared_ptr<Stream>> Submit(GenerationRequest request);

 private:
  // What callers and the worker share. Streams keep a weak reference, so cancelling a stream
  // after the service is gone is a harmless no-op.
  struct Control {
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false;                                          // GUARDED_BY(mu)
    Status failed;                                              // GUARDED_BY(mu): the engine's error, once it failed
    Engine::Load load;                                          // GUARDED_BY(mu): after the last step
    uint64_t next_ticket = 0;                                   // GUARDED_BY(mu)
    std::deque<std::pair<uint64_t, GenerationRequest>> submitted;  // GUARDED_BY(mu)
    std::vector<uint64_t> cancels;                              // GUARDED_BY(mu)
    std::map<uint64_t, std::shared_ptr<Stream>> streams;        // GUARDED_BY(mu): unfinished, by ticket
  };

  GenerationService() = default;
  void Loop();

  std::unique_ptr<Engine> engine_;  // touched by the worker thread only (Check is thread-safe)
  std::shared_ptr<Control> control_ = std::make_shared<Control>();
  std::thread worker_;
};

}  // namespace tenet
