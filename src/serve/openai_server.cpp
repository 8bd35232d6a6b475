// The OpenAI-compatible server. See tenet/serve/openai_server.h.
#include "tenet/serve/openai_server.h"

#include <chrono>
#include <functional>
#include <optional>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <variant>

#include "tenet/generate/stops.h"
#include "tenet/http/json_api.h"
#include "tenet/io/peft_adapter.h"
#include "tenet/model/adapter.h"
#include "tenet/serve/metrics.h"
#include "tenet/serve/openai_request.h"
#include "tenet/util/utf8.h"

namespace tenet::serve {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct OpenAiServer::Backend {
  LlamaForCausalLM* model = nullptr;
  const Tokenizer* tokenizer = nullptr;
  std::unique_ptr<CompletionEncoder> encoder;
  std::vector<int32_t> stop_ids, chat_stop_ids;
  int64_t max_model_len = 0;
  std::unique_ptr<GenerationService> service;
};

namespace {

constexpr auto kPingEvery = std::chrono::seconds(10);
// How often a request waiting for tokens looks whether its client has gone.
constexpr auto kGoneCheckEvery = std::chrono::milliseconds(100);

void Send(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(e.ToJson().dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

ApiError Error(int status, std::string message, std::string type, std::string param = {}, std::string code = {}) {
  ApiError e;
  e.status = status;
  e.message = std::move(message);
  e.type = std::move(type);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

std::string RandomHex(size_t n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s(n, '0');
  for (auto& c : s) c = kHex[rng() & 15];
  return s;
}

uint64_t RandomSeed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

// Bytes equal in constant time for equal lengths (API keys).
bool SameSecret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

json Bytes(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

// One choice's text as it is generated: decoded token by token (whole UTF-8 characters only),
// cut before the first stop string, and how much of it a stream has sent.
struct Choice {
  std::unique_ptr<StreamDecoder> decoder;
  std::string text;
  size_t sent = 0;
  bool stop_hit = false, finished = false, role_sent = false;
  Clock::time_point last_token;
  std::string finish_reason;
  int64_t tokens = 0;
  json chat_logprobs = json::array();  // chat: {"token", "logprob", "bytes", "top_logprobs"} per token
  json legacy_logprobs = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()}, {"text_offset", json::array()}};
  json pending_logprobs = json::array();  // chat entries not yet streamed
};

// What a completion request runs: its streams (one per prompt; each carries n samples).
struct Job {
  CompletionRequest req;
  std::shared_ptr<OpenAiServer::Backend> backend;
  std::vector<std::shared_ptr<GenerationService::Stream>> streams;
  std::vector<std::string> prompt_texts;  // completions with echo
  std::vector<Choice> choices;            // index = prompt * n + sample
  int64_t prompt_tokens = 0;
  size_t max_stop = 0;
  std::string id, object;
  int64_t created = 0;
  std::atomic<int64_t>* in_flight = nullptr;
  bool counted = false;
  Metrics* metrics = nullptr;
  Clock::time_point start = Clock::now();
  double ttft = -1;
  bool recorded = false;
  size_t next_stream = 0;  // round-robin over streams while streaming
  bool done_sent = false;
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();  // for keep-alive pings

  ~Job() {
    for (auto& s : streams) s->Cancel();  // harmless on finished streams; frees slots of abandoned ones
    if (counted) in_flight->fetch_sub(1);
    if (metrics != nullptr && !recorded) {  // the client went away before the end
      for (const auto& c : choices)
        if (!c.finished) metrics->ChoiceFinished(req.model, "abort");
      metrics->RequestFinished(req.model, prompt_tokens, Usage()["completion_tokens"].get<int64_t>(),
                               std::chrono::duration<double>(Clock::now() - start).count(), ttft);
    }
  }

  std::string TokenText(int32_t id) const {
    auto t = backend->tokenizer->Decode({id});
    return t.ok() ? *t : std::string();
  }

  // Applies one event of stream `p` to its choice.
  void Apply(size_t p, const GenerationEvent& e) {
    Choice& c = choices[p * static_cast<size_t>(req.n) + static_cast<size_t>(e.sample)];
    const auto now = Clock::now();
    if (e.kind == GenerationEvent::Kind::kFinish) {
      if (!c.stop_hit) {
        c.text += c.decoder->Flush();
        CutAtStop(c);
      }
      c.finished = true;
      c.tokens = static_cast<int64_t>(e.ids.size());
      c.finish_reason = c.stop_hit || e.finish == FinishReason::kStop ? "stop" : e.finish == FinishReason::kLength ? "length" : "abort";
      metrics->ChoiceFinished(req.model, c.finish_reason);
      if (AllFinished() && !recorded) {
        recorded = true;
        metrics->RequestFinished(req.model, prompt_tokens, Usage()["completion_tokens"].get<int64_t>(),
                                 std::chrono::duration<double>(now - start).count(), ttft);
      }
      return;
    }
    if (ttft < 0) ttft = std::chrono::duration<double>(now - start).count();
    if (c.last_token != Clock::time_point()) metrics->TokenGap(req.model, std::chrono::duration<double>(now - c.last_token).count());
    c.last_token = now;
    ++c.tokens;  // the finish event sets the exact count
    if (c.stop_hit) return;
    if (req.logprobs) {
      const std::string tok = TokenText(e.token);
      json top = json::array();
      json legacy_top = json::object();
      for (const auto& t : e.top_logprobs) {
        const std::string s = TokenText(t.token);
        top.push_back({{"token", s}, {"logprob", t.logprob}, {"bytes", Bytes(TokenBytes(*backend->tokenizer, t.token))}});
        legacy_top[s] = t.logprob;
      }
      // "token" is the text (a token inside a UTF-8 character shows as U+FFFD); "bytes" are the
      // token's own bytes, so a client can join them into the exact text.
      json entry = {{"token", tok}, {"logprob", e.logprob}, {"bytes", Bytes(TokenBytes(*backend->tokenizer, e.token))}, {"top_logprobs", top}};
      c.chat_logprobs.push_back(entry);
      c.pending_logprobs.push_back(entry);
      c.legacy_logprobs["tokens"].push_back(tok);
      c.legacy_logprobs["token_logprobs"].push_back(e.logprob);
      c.legacy_logprobs["top_logprobs"].push_back(legacy_top);
      c.legacy_logprobs["text_offset"].push_back(c.text.size());
    }
    auto piece = c.decoder->Push(e.token);
    if (piece.ok()) c.text += *piece;
    CutAtStop(c);
  }

  void CutAtStop(Choice& c) const {
    bool hit = false;
    c.text = tenet::CutAtStop(c.text, req.stop, &hit);
    c.stop_hit = c.stop_hit || hit;
  }

  // The part of the text that can go out now: all of it once finished or stopped; else all but
  // what could still turn out to be the start of a stop string, ending on a character boundary.
  std::string Unsent(Choice& c) const {
    size_t safe = c.text.size();
    if (!c.finished && !c.stop_hit && max_stop > 1) safe = c.text.size() > max_stop - 1 ? c.text.size() - (max_stop - 1) : 0;
    while (safe > c.sent && safe < c.text.size() && (static_cast<unsigned char>(c.text[safe]) & 0xC0) == 0x80) --safe;
    if (safe <= c.sent) return {};
    std::string out = c.text.substr(c.sent, safe - c.sent);
    c.sent = safe;
    return out;
  }

  bool AllFinished() const {
    for (const auto& c : choices)
      if (!c.finished) return false;
    return true;
  }

  json Usage() const {
    int64_t completion = 0;
    for (const auto& c : choices) completion += c.tokens;
    return {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion}, {"total_tokens", prompt_tokens + completion}};
  }

  json Header() const { return {{"id", id}, {"object", object}, {"created", created}, {"model", req.model}}; }

  json Whole() const {
    json out = Header();
    out["choices"] = json::array();
    for (size_t i = 0; i < choices.size(); ++i) {
      const Choice& c = choices[i];
      const size_t p = i / static_cast<size_t>(req.n);
      if (req.endpoint == Endpoint::kChat) {
        out["choices"].push_back({{"index", i},
                                  {"message", {{"role", "assistant"}, {"content", c.text}}},
                                  {"logprobs", req.logprobs ? json{{"content", c.chat_logprobs}} : json(nullptr)},
                                  {"finish_reason", c.finish_reason}});
      } else {
        out["choices"].push_back({{"index", i},
                                  {"text", (req.echo ? prompt_texts[p] : std::string()) + c.text},
                                  {"logprobs", req.logprobs ? c.legacy_logprobs : json(nullptr)},
                                  {"finish_reason", c.finish_reason}});
      }
    }
    out["usage"] = Usage();
    return out;
  }
};

std::string SseData(const json& j) { return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n"; }

}  // namespace

OpenAiServer::OpenAiServer(ServerOptions options) : options_(std::move(options)) {
  server_ = std::make_unique<http::GuardedServer>(options_.http, [this](const std::string& line) { Log(line); });
  server_->set_error_format([](int status, const std::string& code, const std::string& message) {
    return Error(status, message, status >= 500 ? "server_error" : "invalid_request_error", {}, code).ToJson();
  });
  Routes();
}

OpenAiServer::~OpenAiServer() {
  Stop();
  Wait();
}

void OpenAiServer::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::cerr << "tenet serve: " << line << "\n";
  }
}

Result<int> OpenAiServer::Start(const std::string& host, int port) {
  int bound = port;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
    if (bound <= 0) return Status::IOError(host, "cannot bind a port");
  } else if (!server_->bind_to_port(host, port)) {
    return Status::IOError(host + ":" + std::to_string(port), "cannot listen (in use, or not an address of this machine)");
  }
  listener_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

Status OpenAiServer::Attach(LlamaForCausalLM& model, const Tokenizer& tokenizer, std::vector<int32_t> stop_ids) {
  auto b = std::make_shared<Backend>();
  b->model = &model;
  b->tokenizer = &tokenizer;
  TENET_ASSIGN_OR_RETURN(b->encoder, CompletionEncoder::Create(tokenizer));
  b->stop_ids = stop_ids;
  b->chat_stop_ids = ChatStopIds({stop_ids.begin(), stop_ids.end()}, b->encoder->end_of_turn_id());
  const int64_t model_max = model.config().max_position_embeddings;
  b->max_model_len = options_.max_model_len > 0 ? std::min(options_.max_model_len, model_max) : std::min<int64_t>(model_max, 4096);
  EngineOptions eo;
  eo.slots = options_.max_batch;
  eo.max_context = b->max_model_len;
  eo.prefill_chunk = options_.prefill_chunk;
  TENET_ASSIGN_OR_RETURN(b->service, GenerationService::Start(model, eo));
  {
    std::lock_guard<std::mutex> lock(backend_mu_);
    backend_ = b;
  }
  return Status::OK();
}

Status OpenAiServer::AddAdapter(std::shared_ptr<const ServedAdapter> adapter, const std::string& path) {
  if (adapter->name.empty() || adapter->name == options_.model_id) {
    return Status::InvalidArgument("adapter name '" + adapter->name + "'", "is empty or the base model's name");
  }
  std::lock_guard<std::mutex> lock(adapters_mu_);
  if (adapters_.count(adapter->name)) return Status::InvalidArgument("adapter name '" + adapter->name + "'", "is already served");
  const std::string name = adapter->name;
  adapters_[name] = {std::move(adapter), path};
  return Status::OK();
}

void OpenAiServer::Stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) return;
  const auto deadline = Clock::now() + grace;
  while (in_flight_.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (auto b = backend()) b->service->Shutdown();  // cancels what is left
  const auto drain = Clock::now() + std::chrono::seconds(5);
  while (in_flight_.load() > 0 && Clock::now() < drain) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server_->Stop();
}

void OpenAiServer::Wait() {
  if (listener_.joinable()) listener_.join();
}

void OpenAiServer::Routes() {
  auto authorized = [this](const httplib::Request& req, httplib::Response& res) {
    if (options_.api_keys.empty()) return true;
    const std::string h = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (h.size() > prefix.size() && h.compare(0, prefix.size(), prefix) == 0) {
      const std::string key = h.substr(prefix.size());
      for (const auto& k : options_.api_keys)
        if (SameSecret(k, key)) return true;
    }
    Send(res, Error(401, h.empty() ? "Missing API key: send Authorization: Bearer <key>." : "Incorrect API key provided.",
                    "invalid_request_error", {}, "invalid_api_key"));
    return false;
  };
  // The backend, or a 503 while loading or stopping.
  auto ready = [this](httplib::Response& res) -> std::shared_ptr<Backend> {
    auto b = backend();
    if (stopping_.load()) {
      Send(res, Error(503, "The server is shutting down.", "server_error", {}, "shutting_down"));
      return nullptr;
    }
    if (b == nullptr) Send(res, Error(503, "The model is still loading.", "server_error", {}, "model_loading"));
    return b;
  };

  server_->Get("/health", [ready](const httplib::Request&, httplib::Response& res) {
    if (ready(res) != nullptr) {
      res.status = 200;
      res.set_content("", "text/plain");
    }
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    auto b = backend();
    const Engine::Load load = b != nullptr ? b->service->load() : Engine::Load{};
    res.set_header("Cache-Control", "no-store");
    res.set_content(metrics_.Render(load, in_flight_.load()), "text/plain; version=0.0.4");
  });
  server_->Get("/v1/models", [this, authorized, ready](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    auto b = ready(res);
    if (b == nullptr) return;
    json data = json::array({{{"id", options_.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "tenet"},
                               {"root", options_.model_id}, {"parent", nullptr}, {"max_model_len", b->max_model_len}}});
    std::lock_guard<std::mutex> lock(adapters_mu_);
    for (const auto& [name, a] : adapters_) {
      data.push_back({{"id", name}, {"object", "model"}, {"created", 0}, {"owned_by", "tenet"}, {"root", a.second},
                      {"parent", options_.model_id}, {"max_model_len", b->max_model_len}});
    }
    http::SendJson(res, 200, {{"object", "list"}, {"data", data}});
  });
  // A JSON route: the key check (the admin key for admin routes), the backend (503 while loading),
  // the body as JSON, and a field of the wrong type as a 400 naming it. `fn` returns the reply, or
  // sends an error itself and returns nothing.
  using JsonFn = std::function<std::optional<json>(httplib::Response&, const std::shared_ptr<Backend>&, const json& body)>;
  auto api = [this, authorized, ready](const std::string& path, std::function<bool(const httplib::Request&, httplib::Response&)> allowed,
                                       JsonFn fn) {
    server_->Post(path, [allowed = allowed ? allowed : authorized, ready, fn](const httplib::Request& req, httplib::Response& res) {
      if (!allowed(req, res)) return;
      auto b = ready(res);
      if (b == nullptr) return;
      const json body = json::parse(req.body, nullptr, false);
      try {
        if (auto out = fn(res, b, body)) http::SendJson(res, 200, *out);
      } catch (const http::FieldError& e) {
        Send(res, Error(400, e.what(), "invalid_request_error", e.field()));
      }
    });
  };
  auto fail = [](httplib::Response& res, const ApiError& e) -> std::optional<json> {
    Send(res, e);
    return std::nullopt;
  };
  api("/tokenize", nullptr, [this, fail](httplib::Response& res, const std::shared_ptr<Backend>& b, const json& body) -> std::optional<json> {
    http::Fields f(body);
    std::vector<int32_t> ids;
    if (f.Has("messages")) {
      auto parsed = ParseCompletionRequest(json{{"model", f.String("model", options_.model_id)}, {"messages", body["messages"]}}, Endpoint::kChat);
      if (auto* e = std::get_if<ApiError>(&parsed)) return fail(res, *e);
      auto r = b->encoder->EncodeChatPromptUntrusted(std::get<CompletionRequest>(parsed).messages);
      if (!r.ok()) return fail(res, Error(400, r.status().message(), "invalid_request_error", "messages"));
      ids = *r;
    } else {
      auto r = b->encoder->EncodeText(f.String("prompt"), "");
      if (!r.ok()) return fail(res, Error(400, r.status().message(), "invalid_request_error", "prompt"));
      ids = r->prompt;
    }
    return json{{"count", ids.size()}, {"max_model_len", b->max_model_len}, {"tokens", ids}};
  });
  api("/detokenize", nullptr, [fail](httplib::Response& res, const std::shared_ptr<Backend>& b, const json& body) -> std::optional<json> {
    http::Fields f(body);
    const json& t = f.Required("tokens");
    http::RequireArray(t, "tokens", 1 << 20);
    std::vector<int32_t> ids;
    for (size_t i = 0; i < t.size(); ++i) {
      ids.push_back(static_cast<int32_t>(http::AsInt(t[i], "tokens[" + std::to_string(i) + "]", 0, b->tokenizer->vocab_size() - 1)));
    }
    auto text = b->tokenizer->Decode(ids);
    if (!text.ok()) return fail(res, Error(400, text.status().message(), "invalid_request_error", "tokens"));
    return json{{"prompt", *text}};
  });

  auto completions = [this, authorized, ready](Endpoint endpoint) {
    return [this, authorized, ready, endpoint](const httplib::Request& req, httplib::Response& res) {
      if (!authorized(req, res)) return;
      auto b = ready(res);
      if (b == nullptr) return;
      auto parsed = ParseCompletionRequest(std::string_view(req.body), endpoint);
      if (auto* e = std::get_if<ApiError>(&parsed)) return Send(res, *e);
      auto job = std::make_shared<Job>();
      job->req = std::move(std::get<CompletionRequest>(parsed));
      job->backend = b;
      CompletionRequest& r = job->req;
      std::shared_ptr<const ServedAdapter> adapter;
      if (r.model != options_.model_id) {
        std::lock_guard<std::mutex> lock(adapters_mu_);
        auto it = adapters_.find(r.model);
        if (it == adapters_.end()) {
          return Send(res, Error(404, "The model '" + r.model + "' does not exist.", "invalid_request_error", "model", "model_not_found"));
        }
        adapter = it->second.first;
      }
      if (r.n > options_.max_batch) {
        return Send(res, Error(400, "n = " + std::to_string(r.n) + " is more than this server decodes at once (" +
                                        std::to_string(options_.max_batch) + ", --max-batch)",
                               "invalid_request_error", "n"));
      }
      // Prompts as token ids.
      std::vector<std::vector<int32_t>> prompts;
      if (endpoint == Endpoint::kChat) {
        auto ids = b->encoder->EncodeChatPromptUntrusted(r.messages);
        if (!ids.ok()) return Send(res, Error(400, ids.status().message(), "invalid_request_error", "messages"));
        prompts.push_back(*ids);
      } else {
        for (const auto& p : r.prompts) {
          auto ids = b->encoder->EncodeText(p, "");
          if (!ids.ok()) return Send(res, Error(400, ids.status().message(), "invalid_request_error", "prompt"));
          prompts.push_back(ids->prompt);
          job->prompt_texts.push_back(p);
        }
      }
      const std::string what = endpoint == Endpoint::kChat ? "messages" : "prompt";
      int64_t longest = 0;
      for (const auto& p : prompts) longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
      const int64_t max_tokens = r.max_tokens ? *r.max_tokens : b->max_model_len - longest;
      if (longest + max_tokens > b->max_model_len || max_tokens < 1) {
        return Send(res, Error(400, "This model's maximum context length is " + std::to_string(b->max_model_len) +
                                        " tokens. However, you requested " + std::to_string(longest + std::max<int64_t>(max_tokens, 1)) +
                                        " tokens (" + std::to_string(longest) + " in the " + what + ", " +
                                        std::to_string(std::max<int64_t>(max_tokens, 1)) +
                                        " in the completion). Please reduce the length of the " + what + " or completion.",
                               "invalid_request_error", r.max_tokens ? "max_tokens" : what, "context_length_exceeded"));
      }
      if (in_flight_.fetch_add(1) >= options_.max_batch + options_.max_queue) {
        in_flight_.fetch_sub(1);
        res.set_header("Retry-After", "1");
        return Send(res, Error(429, "The server is busy (" + std::to_string(options_.max_queue) + " requests waiting); retry later.",
                               "rate_limit_error", {}, "queue_full"));
      }
      job->in_flight = &in_flight_;
      job->metrics = &metrics_;
      job->counted = true;
      for (const auto& s : r.stop) job->max_stop = std::max(job->max_stop, s.size());
      if (!r.seeded) r.sampling.seed = RandomSeed();
      for (size_t p = 0; p < prompts.size(); ++p) {
        GenerationRequest g;
        g.prompt = prompts[p];
        g.n = r.n;
        g.max_new_tokens = static_cast<int32_t>(max_tokens);
        g.sampling = r.sampling;
        g.stop_ids = endpoint == Endpoint::kChat ? b->chat_stop_ids : b->stop_ids;
        g.logprobs = r.logprobs ? r.top_logprobs : -1;
        g.adapter = adapter;
        if (!r.stop.empty()) g.stop_when = StopWhen(*b->tokenizer, r.stop);
        auto stream = b->service->Submit(std::move(g));
        if (!stream.ok()) {
          const bool invalid = stream.status().code() == Status::Code::kInvalidArgument;
          return Send(res, Error(invalid ? 400 : 503, stream.status().message(), invalid ? "invalid_request_error" : "server_error"));
        }
        job->streams.push_back(*stream);
        job->prompt_tokens += static_cast<int64_t>(prompts[p].size());
      }
      job->choices.resize(prompts.size() * static_cast<size_t>(r.n));
      for (auto& c : job->choices) c.decoder = std::make_unique<StreamDecoder>(*b->tokenizer, /*skip_special=*/true);
      job->id = (endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-") + RandomHex(24);
      job->object = endpoint == Endpoint::kChat ? "chat.completion" : "text_completion";
      job->created = static_cast<int64_t>(std::time(nullptr));
      std::string log_line = std::string(endpoint == Endpoint::kChat ? "chat" : "completion") + " model=" + r.model +
                             " n=" + std::to_string(r.n) + " prompt_tokens=" + std::to_string(job->prompt_tokens) +
                             (r.stream ? " stream" : "");
      if (options_.log_prompts) log_line += " prompt=" + (endpoint == Endpoint::kChat ? r.messages.dump() : json(r.prompts).dump());
      Log(log_line);

      if (!r.stream) {
        for (size_t p = 0; p < job->streams.size(); ++p) {
          GenerationEvent e;
          auto checked = std::chrono::steady_clock::now();
          for (;;) {
            const auto got = job->streams[p]->NextFor(&e, kGoneCheckEvery);
            if (got == GenerationService::Stream::Wait::kEvent) job->Apply(p, e);
            if (got == GenerationService::Stream::Wait::kEnd) break;
            if (std::chrono::steady_clock::now() - checked < kGoneCheckEvery) continue;
            checked = std::chrono::steady_clock::now();
            if (!http::GuardedServer::ClientGone()) continue;
            // Nobody will read the answer: free the slots now rather than decode to the end.
            for (auto& s : job->streams) s->Cancel();
            Log("client went away; cancelled " + job->id);
            return;
          }
          if (!job->streams[p]->status().ok()) {
            Log("generation failed: " + job->streams[p]->status().ToString());
            return Send(res, Error(500, "The server had an error while generating; it is logged.", "server_error"));
          }
        }
        http::SendJson(res, 200, job->Whole());
        return;
      }

      // Streaming: server-sent events, one chunk per new piece of text per choice.
      res.set_header("Cache-Control", "no-store");
      res.set_header("X-Accel-Buffering", "no");
      auto chunk = [job](size_t index, const json& delta_or_text, const json& logprobs, const json& finish) {
        json j = job->Header();
        j["object"] = job->req.endpoint == Endpoint::kChat ? "chat.completion.chunk" : "text_completion";
        json choice = {{"index", index}};
        if (job->req.endpoint == Endpoint::kChat) {
          choice["delta"] = delta_or_text;
        } else {
          choice["text"] = delta_or_text;
        }
        choice["logprobs"] = logprobs;
        choice["finish_reason"] = finish;
        j["choices"] = json::array({choice});
        if (job->req.include_usage) j["usage"] = nullptr;
        return SseData(j);
      };
      res.set_chunked_content_provider(
          "text/event-stream",
          [job, chunk](size_t, httplib::DataSink& sink) {
            std::string out;
            // Role first, for every chat choice, before any content.
            if (job->req.endpoint == Endpoint::kChat) {
              for (size_t i = 0; i < job->choices.size(); ++i) {
                if (job->choices[i].role_sent) continue;
                job->choices[i].role_sent = true;
                out += chunk(i, {{"role", "assistant"}, {"content", ""}}, nullptr, nullptr);
              }
            } else if (job->req.echo) {
              for (size_t i = 0; i < job->choices.size(); ++i) {
                if (job->choices[i].role_sent) continue;
                job->choices[i].role_sent = true;
                out += chunk(i, job->prompt_texts[i / static_cast<size_t>(job->req.n)], nullptr, nullptr);
              }
            }
            if (!job->AllFinished()) {
              // One event (or a keep-alive after kPingEvery without one) per call.
              const size_t p = job->next_stream++ % job->streams.size();
              GenerationEvent e;
              const auto wait = job->streams.size() == 1 ? std::chrono::milliseconds(kGoneCheckEvery) : std::chrono::milliseconds(5);
              auto got = job->streams[p]->NextFor(&e, wait);
              if (got == GenerationService::Stream::Wait::kEvent) {
                job->Apply(p, e);
                const size_t index = p * static_cast<size_t>(job->req.n) + static_cast<size_t>(e.sample);
                Choice& c = job->choices[index];
                const std::string text = job->Unsent(c);
                json lp = nullptr;
                if (job->req.logprobs && job->req.endpoint == Endpoint::kChat && !c.pending_logprobs.empty()) {
                  lp = {{"content", c.pending_logprobs}};
                  c.pending_logprobs = json::array();
                }
                if (!text.empty() || !lp.is_null()) {
                  out += chunk(index, job->req.endpoint == Endpoint::kChat ? json{{"content", text}} : json(text), lp, nullptr);
                }
                if (c.finished) out += chunk(index, job->req.endpoint == Endpoint::kChat ? json::object() : json(""), nullptr, c.finish_reason);
              } else if (got == GenerationService::Stream::Wait::kTimeout) {
                if (http::GuardedServer::ClientGone()) return false;  // the releaser cancels the streams
                if (std::chrono::steady_clock::now() - job->last_write >= kPingEvery) out += ": ping\n\n";
              } else if (!job->streams[p]->status().ok()) {
                // The engine failed: the stream ends with an error event (the status line is gone).
                out += SseData(Error(500, "The server had an error while generating; it is logged.", "server_error").ToJson());
                for (auto& c : job->choices) c.finished = true;
              } else {
                // This stream has ended: any choice of it not yet finished was cancelled.
                for (size_t k = 0; k < static_cast<size_t>(job->req.n); ++k) {
                  Choice& c = job->choices[p * static_cast<size_t>(job->req.n) + k];
                  if (!c.finished) c.finished = true, c.finish_reason = "abort";
                }
              }
            }
            if (job->AllFinished() && !job->done_sent) {
              job->done_sent = true;
              if (job->req.include_usage) {
                json j = job->Header();
                j["object"] = job->req.endpoint == Endpoint::kChat ? "chat.completion.chunk" : "text_completion";
                j["choices"] = json::array();
                j["usage"] = job->Usage();
                out += SseData(j);
              }
              out += "data: [DONE]\n\n";
            }
            if (!out.empty()) {
              if (!sink.write(out.data(), out.size())) return false;  // the client is gone
              job->last_write = std::chrono::steady_clock::now();
            }
            if (job->done_sent) sink.done();
            return true;
          },
          [job](bool) {
            // Finished or abandoned (the client went away): cancel whatever still runs.
            for (auto& s : job->streams) s->Cancel();
          });
    };
  };
  // vLLM's adapter routes, admin key only: {"lora_name", "lora_path"} / {"lora_name"}.
  auto admin = [this](const httplib::Request& req, httplib::Response& res) {
    const std::string h = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (!options_.admin_keys.empty() && h.size() > prefix.size() && h.compare(0, prefix.size(), prefix) == 0) {
      for (const auto& k : options_.admin_keys)
        if (SameSecret(k, h.substr(prefix.size()))) return true;
    }
    Send(res, options_.admin_keys.empty()
                  ? Error(403, "Loading adapters is off: start the server with --admin-key-file.", "invalid_request_error", {}, "admin_disabled")
                  : Error(401, "This route needs the admin key.", "invalid_request_error", {}, "invalid_api_key"));
    return false;
  };
  api("/v1/load_lora_adapter", admin, [this, fail](httplib::Response& res, const std::shared_ptr<Backend>& b, const json& body) -> std::optional<json> {
    http::Fields f(body);
    const std::string name = f.String("lora_name"), path = f.String("lora_path");
    auto adapter = LoadPeftAdapter(path);
    if (!adapter.ok()) return fail(res, Error(400, adapter.status().message(), "invalid_request_error", "lora_path"));
    auto served = MakeServedAdapter(*b->model, *adapter, name);
    if (!served.ok()) return fail(res, Error(400, served.status().message(), "invalid_request_error", "lora_path"));
    Status s = AddAdapter(*served, path);
    if (!s.ok()) return fail(res, Error(400, s.message(), "invalid_request_error", "lora_name"));
    Log("loaded adapter " + name + " from " + path);
    return json{{"status", "ok"}, {"lora_name", name}};
  });
  api("/v1/unload_lora_adapter", admin, [this, fail](httplib::Response& res, const std::shared_ptr<Backend>&, const json& body) -> std::optional<json> {
    http::Fields f(body);
    const std::string name = f.String("lora_name");
    std::lock_guard<std::mutex> lock(adapters_mu_);
    // Running requests hold the adapter by shared_ptr and finish with it.
    if (adapters_.erase(name) == 0) {
      return fail(res, Error(404, "No adapter '" + name + "' is loaded.", "invalid_request_error", "lora_name", "model_not_found"));
    }
    Log("unloaded adapter " + name);
    return json{{"status", "ok"}, {"lora_name", name}};
  });

  server_->Post("/v1/chat/completions", completions(Endpoint::kChat));
  server_->Post("/v1/completions", completions(Endpoint::kCompletions));

  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      Send(res, Error(404, "Unknown route " + req.method + " " + req.path + ".", "invalid_request_error", {}, "unknown_route"));
    } else if (res.status == 413) {
      Send(res, Error(413, "The request body is too large.", "invalid_request_error", {}, "body_too_large"));
    } else {
      Send(res, Error(res.status, "HTTP " + std::to_string(res.status), res.status >= 500 ? "server_error" : "invalid_request_error"));
    }
  });
  server_->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    Log(req.remote_addr + " " + req.method + " " + req.path + " " + std::to_string(res.status));
  });
}

}  // namespace tenet::serve
