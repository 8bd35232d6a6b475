// Thread-safe generation service. See tenet/generate/service.h.
#include "tenet/generate/service.h"

#include <exception>

namespace tenet {

bool GenerationService::Stream::Next(GenerationEvent* event) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !events_.empty() || unfinished_ == 0 || !status_.ok(); });
  if (events_.empty()) return false;
  *event = std::move(events_.front());
  events_.pop_front();
  return true;
}

GenerationService::Stream::Wait GenerationService::Stream::NextFor(GenerationEvent* event, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !events_.empty() || unfinished_ == 0 || !status_.ok(); })) return Wait::kTimeout;
  if (events_.empty()) return Wait::kEnd;
  *event = std::move(events_.front());
  events_.pop_front();
  return Wait::kEvent;
}

void GenerationService::Stream::Cancel() {
  auto c = std::static_pointer_cast<Control>(control_.lock());
  if (c == nullptr) return;  // the service is gone; its destructor cancelled everything
  {
    std::lock_guard<std::mutex> lock(c->mu);
    c->cancels.push_back(ticket_);
  }
  c->cv.notify_all();
}

Status GenerationService::Stream::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

Result<std::unique_ptr<GenerationService>> GenerationService::Start(LlamaForCausalLM& model, const EngineOptions& options) {
  std::unique_ptr<GenerationService> s(new GenerationService());
  TENET_ASSIGN_OR_RETURN(s->engine_, Engine::Create(model, options));
  s->worker_ = std::thread([svc = s.get()] { svc->Loop(); });
  return s;
}

void GenerationService::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(control_->mu);
    control_->stop = true;
  }
  control_->cv.notify_all();
}

GenerationService::~GenerationService() {
  Shutdown();
  if (worker_.joinable()) worker_.join();
}

Result<std::shared_ptr<GenerationService::Stream>> GenerationService::Submit(GenerationRequest request) {
  TENET_RETURN_IF_ERROR(engine_->Check(request));
  auto stream = std::make_shared<Stream>();
  stream->control_ = control_;
  stream->unfinished_ = request.n;
  {
    std::lock_guard<std::mutex> lock(control_->mu);
    if (!control_->failed.ok()) return control_->failed;
    if (control_->stop) return Status::ResourceExhausted("generation service", "is shutting down");
    stream->ticket_ = control_->next_ticket++;
    control_->streams[stream->ticket_] = stream;
    control_->submitted.emplace_back(stream->ticket_, std::move(request));
  }
  control_->cv.notify_all();
  return stream;
}

void GenerationService::Loop() {
  Control& c = *control_;
  std::map<uint64_t, uint64_t> ticket_of;  // engine request id -> ticket (worker thread only)
  std::map<uint64_t, uint64_t> engine_id;  // ticket -> engine request id
  // Ends a stream with an error: its reader's Next() returns false and status() says why.
  auto fail = [&](const std::shared_ptr<Stream>& s, const Status& status) {
    {
      std::lock_guard<std::mutex> slock(s->mu_);
      s->status_ = status;
    }
    s->cv_.notify_all();
  };
  auto deliver = [&](const GenerationEvent& e) {
    std::shared_ptr<Stream> s;
    {
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.streams.find(ticket_of[e.request]);
      if (it == c.streams.end()) return;
      s = it->second;
    }
    bool done;
    {
      std::lock_guard<std::mutex> lock(s->mu_);
      s->events_.push_back(e);
      if (e.kind == GenerationEvent::Kind::kFinish) --s->unfinished_;
      done = s->unfinished_ == 0;
    }
    s->cv_.notify_all();
    if (done) {
      std::lock_guard<std::mutex> lock(c.mu);
      c.streams.erase(s->ticket_);
      engine_id.erase(s->ticket_);
      ticket_of.erase(e.request);
    }
  };
  while (true) {
    std::deque<std::pair<uint64_t, GenerationRequest>> incoming;
    std::vector<uint64_t> cancels;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(c.mu);
      c.cv.wait(lock, [&] { return c.stop || !c.submitted.empty() || !c.cancels.empty() || !engine_->idle(); });
      incoming.swap(c.submitted);
      cancels.swap(c.cancels);
      stopping = c.stop;
    }
    for (auto& [ticket, request] : incoming) {
      auto id = engine_->Add(std::move(request));  // validated in Submit already, but Add may still refuse
      if (id.ok()) {
        ticket_of[*id] = ticket;
        engine_id[ticket] = *id;
        continue;
      }
      std::shared_ptr<Stream> s;
      {
        std::lock_guard<std::mutex> lock(c.mu);
        auto it = c.streams.find(ticket);
        if (it == c.streams.end()) continue;
        s = it->second;
        c.streams.erase(it);
      }
      fail(s, id.status());
    }
    if (stopping) {
      for (const auto& [ticket, id] : engine_id) engine_->Cancel(id);
    } else {
      for (uint64_t ticket : cancels)
        if (engine_id.count(ticket)) engine_->Cancel(engine_id[ticket]);
    }
    // One exception boundary for the worker: a throwing kernel (out of memory) or callback ends
    // the streams with an error instead of terminating the process that serves them.
    Result<bool> more = false;
    try {
      more = engine_->Step(deliver);
    } catch (const std::exception& e) {
      more = Status::Internal("generation engine", e.what());
    }
    if (!more.ok()) {
      // The engine failed (e.g. out of memory): every open or queued stream ends with the error,
      // and later submissions are refused with it instead of queueing for a worker that is gone.
      std::map<uint64_t, std::shared_ptr<Stream>> open;
      {
        std::lock_guard<std::mutex> lock(c.mu);
        c.failed = more.status().WithContext("generation service stopped");
        c.submitted.clear();
        open.swap(c.streams);
      }
      for (auto& [ticket, s] : open) fail(s, c.failed);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(c.mu);
      c.load = engine_->load();
      c.load.waiting += static_cast<int64_t>(c.submitted.size());
    }
    if (stopping && engine_->idle()) return;
  }
}

}  // namespace tenet
