// `tenet serve`: a model behind an OpenAI-compatible HTTP API (tenet/serve/openai_server.h).
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <pthread.h>
#include <set>
#include <sstream>
#include <thread>

#include "tenet/cli/commands.h"
#include "tenet/io/peft_adapter.h"
#include "tenet/model/adapter.h"
#include "tenet/serve/openai_server.h"
#include "tenet/serve/serving_properties.h"
#include "tenet/util/file.h"

namespace tenet::cli {

namespace {

struct ServeArgs {
  std::string model, tokenizer, served_name, api_key_file, admin_key_file, config, host = "127.0.0.1";
  std::vector<std::string> adapters;  // NAME=DIR
  int port = 8000;
  int shutdown_timeout_s = 30;
  serve::ServerOptions server;
  RuntimeOptions rt;
};

// One key per line; blank lines and # comments skipped.
Result<std::vector<std::string>> ReadKeys(const std::string& path) {
  TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<std::string> keys;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    keys.push_back(line.substr(start));
  }
  if (keys.empty()) return Status::InvalidArgument(path, "has no API key (one per line)");
  return keys;
}

}  // namespace

RunFn AddServeCommand(CLI::App& sub) {
  auto a = std::make_shared<ServeArgs>();
  sub.add_option("--model", a->model, "HF model folder (a base or a merged folder, with its tokenizer); required here or in --config");
  sub.add_option("--config", a->config, "serving.properties file (DJL Serving's keys: option.model_id, option.dtype, "
                                        "option.max_rolling_batch_size, option.max_model_len; tenet.<flag> for any flag); flags win");
  sub.add_option("--served-model-name", a->served_name, "The name clients pass as \"model\" (default: the folder's name)");
  sub.add_option("--host", a->host, "Address to listen on")->capture_default_str();
  sub.add_option("--port", a->port, "Port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  sub.add_option("--adapter", a->adapters, "NAME=DIR: serve a PEFT LoRA adapter of this base as model NAME (repeatable)");
  sub.add_option("--api-key-file", a->api_key_file, "File of accepted API keys, one per line (default: no key needed)");
  sub.add_option("--admin-key-file", a->admin_key_file,
                 "File of admin keys, which may also load and unload adapters (POST /v1/load_lora_adapter); default: those routes are off");
  sub.add_option("--max-batch", a->server.max_batch, "Sequences decoded together; a request's n must fit")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  sub.add_option("--max-queue", a->server.max_queue, "Requests waiting beyond the running ones; more get 429")
      ->capture_default_str()->check(CLI::Range(0, 1000000));
  sub.add_option("--max-model-len", a->server.max_model_len, "Prompt + completion tokens per sequence (default: the model's, at most 4096)")
      ->check(CLI::Range(1, 1 << 24));
  sub.add_option("--prefill-chunk", a->server.prefill_chunk,
                 "Prompt tokens per prefill pass; while others decode, one pass runs between their tokens")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  sub.add_option("--shutdown-timeout", a->shutdown_timeout_s, "Seconds in-flight requests get to finish after SIGTERM")
      ->capture_default_str()->check(CLI::Range(0, 3600));
  sub.add_option("--http-threads", a->server.http.threads, "HTTP worker threads (each open connection holds one)")
      ->capture_default_str()->check(CLI::Range(2, 4096));
  sub.add_option("--max-connections-per-client", a->server.http.max_connections_per_client,
                 "Open connections one address may hold; more are refused with 503")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  sub.add_flag("--log-prompts", a->server.log_prompts, "Show prompt text in the access log");
  sub.add_option("--tokenizer", a->tokenizer, "Tokenizer folder (default: the model folder)");
  AddRuntimeFlags(sub, &a->rt);
  sub.footer(R"(Serves POST /v1/chat/completions and /v1/completions (streaming with "stream": true),
GET /v1/models, GET /health, POST /tokenize and /detokenize, in OpenAI's shapes; any OpenAI client
works with base_url http://HOST:PORT/v1. Prints the address on stdout once the model is loaded
(/health answers 503 until then). Ctrl-C or SIGTERM stops taking requests, lets in-flight ones
finish for --shutdown-timeout seconds, cancels the rest and exits 0.

Examples:
  tenet serve --model merged/ --port 8000
  tenet serve --config serving.properties --port 8001     # flags win over the file
  tenet serve --model base/ --adapter bank-v1=runs/dpo1/adapter --adapter bank-v2=runs/dpo2/adapter
  curl localhost:8000/v1/chat/completions -H 'Content-Type: application/json' \
       -d '{"model":"merged","messages":[{"role":"user","content":"Can I raise my card limit?"}]}')");
  return [a, app = &sub]() {
    if (!a->config.empty()) {
      // The file's values for the flags not given on the command line.
      std::vector<std::string> names;
      for (const CLI::Option* o : app->get_options()) {
        for (const auto& n : o->get_lnames()) names.push_back(n);
      }
      auto text = ReadFile(a->config);
      if (!text.ok()) return Fail(text.status());
      auto entries = serve::ParseServingProperties(*text, a->config, names);
      if (!entries.ok()) return Fail(entries.status(), /*usage=*/true);
      std::set<std::string> given;
      for (const auto& [flag, value] : *entries) {
        if (app->get_option("--" + flag)->count() > 0) given.insert(flag);
      }
      for (const auto& [flag, value] : *entries) {
        if (given.count(flag)) continue;
        CLI::Option* o = app->get_option("--" + flag);
        try {
          o->add_result(value);
          o->run_callback();
        } catch (const CLI::Error& e) {
          return Fail(Status::InvalidArgument(a->config, "tenet." + flag + " = '" + value + "': " + e.what()), /*usage=*/true);
        }
      }
    }
    if (a->model.empty()) return Fail(Status::InvalidArgument("--model", "is required (or option.model_id in --config)"), /*usage=*/true);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    if (!IsDirectory(a->model)) return Fail(Status::NotFound(a->model, "no such model folder"));
    if (!a->api_key_file.empty()) {
      auto keys = ReadKeys(a->api_key_file);
      if (!keys.ok()) return Fail(keys.status());
      a->server.api_keys = *keys;
    }
    if (!a->admin_key_file.empty()) {
      auto keys = ReadKeys(a->admin_key_file);
      if (!keys.ok()) return Fail(keys.status());
      a->server.admin_keys = *keys;
      // An admin may do what any client may.
      if (!a->server.api_keys.empty()) a->server.api_keys.insert(a->server.api_keys.end(), keys->begin(), keys->end());
    }
    std::vector<std::pair<std::string, std::string>> adapters;
    for (const auto& spec : a->adapters) {
      const size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
        return Fail(Status::InvalidArgument("--adapter '" + spec + "'", "must be NAME=DIR"), /*usage=*/true);
      }
      adapters.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
    }
    if (a->served_name.empty()) {
      std::string m = a->model;
      while (m.size() > 1 && m.back() == '/') m.pop_back();
      const size_t slash = m.rfind('/');
      a->served_name = slash == std::string::npos ? m : m.substr(slash + 1);
    }
    a->server.model_id = a->served_name;
    serve::OpenAiServer server(a->server);
    auto port = server.Start(a->host, a->port);
    if (!port.ok()) return Fail(port.status());
    auto tok = Tokenizer::Load(a->tokenizer.empty() ? a->model : a->tokenizer);
    if (!tok.ok()) return Fail(tok.status());
    auto rt = PreferBf16ForGeneration(a->rt);
    if (!rt.ok()) return Fail(rt.status());
    auto loaded = LoadModelForCli(a->model, "", *rt);
    if (!loaded.ok()) return Fail(loaded.status());
    std::vector<int32_t> stop_ids(loaded->eos_token_ids.begin(), loaded->eos_token_ids.end());
    Status s = server.Attach(*loaded->model, **tok, stop_ids);
    if (!s.ok()) return Fail(s);
    for (const auto& [name, dir] : adapters) {
      auto adapter = LoadPeftAdapter(dir);
      if (!adapter.ok()) return Fail(adapter.status());
      auto served = MakeServedAdapter(*loaded->model, *adapter, name);
      if (!served.ok()) return Fail(served.status().WithContext(dir));
      s = server.AddAdapter(*served, dir);
      if (!s.ok()) return Fail(s);
      std::cerr << "tenet serve: adapter " << name << " from " << dir << "\n";
    }
    std::cout << "serving " << a->served_name << " on http://" << a->host << ":" << *port << "/v1" << std::endl;
    std::thread waiter([&server, set, grace = a->shutdown_timeout_s] {
      int sig = 0;
      sigwait(&set, &sig);
      std::cerr << "tenet serve: stopping (in-flight requests get " << grace << " s)\n";
      server.Stop(std::chrono::seconds(grace));
    });
    server.Wait();
    pthread_kill(waiter.native_handle(), SIGTERM);  // wake it if the server stopped by itself
    waiter.join();
    std::cerr << "tenet serve: stopped\n";
    return kExitOk;
  };
}

}  // namespace tenet::cli
