// label_bench: load on the labeling service (docs/label-api.md). N simulated annotators, each a
// keep-alive HTTP client on its own thread, loop on POST /api/jobs/<id>/next then
// POST /api/tasks/<id>/submit (a random valid ranking) against an in-process PortalServer on
// 127.0.0.1, over a fresh store in a temp dir (WAL, synchronous=FULL: every acknowledged
// submission is fsynced). Clients and server share the machine's cores.
//
// Clients set TCP_NODELAY (as browsers do) and open their connection (GET /api/me) one at a time
// before the clock starts. Closed loop by default: each client starts its next cycle when the last
// one ends, so latency = clients / throughput (Little's law). --rate R paces the clients to R
// cycles/s in all and measures latency from each cycle's planned start instead.
//
// Setup (not timed): one job of --items items of 4 answers each (ParseResponses on generated
// JSONL, Jobs::Create), 3 annotators per item, and --annotators accounts made through
// Accounts::Invite + Accounts::AcceptInvitation (argon2id, ~0.1 s each).
//
// Figures: cycles/s (one cycle = next + submit) over --seconds after a --warmup, p50/p90/p99/max
// cycle latency, p50/p99 per request, non-2xx answers. Then the store is read back directly
// (SQL through LabelDb::Read) and checked against what the clients were told:
//   lost           acknowledged submissions ("duplicate": false) missing from the store, or
//                  stored under another task/annotator than acknowledged
//   duplicated     (item, annotator) pairs stored more than once, or one submission id
//                  acknowledged as new twice
//   over-assigned  items with more submissions than annotators_per_item
// Any of them non-zero: exit 1. Submissions stored but never acknowledged (a client error after
// the commit) are printed as "unacknowledged", not counted as lost.
//
// --mode store runs the same loop without HTTP: each client thread calls what the two handlers
// call (Accounts::Authenticate, Tasks::Next, Accounts::Authenticate, Tasks::Submit) directly, so
// the difference between the two modes is the HTTP + JSON layer.
//
// Prints human-readable lines, then one JSON line (the summary) last.
//
// Usage: label_bench [--annotators 50] [--items 4000] [--seconds 10] [--warmup 1] [--rate R]
//                    [--server-threads N] [--answer-bytes 400] [--mode http|store]
//                    [--db-dir DIR] [--keep-db]
// Give --items so that items x 3 exceeds the cycles of the run (a warning says when the job ran
// out: clients stop at {"task": null}).
// Not for: correctness of the API (tests/label) or the browser portal (tests/e2e).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "tenet/label/accounts.h"
#include "tenet/label/db.h"
#include "tenet/label/jobs.h"
#include "tenet/label/portal_server.h"
#include "tenet/label/tasks.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
namespace label = tenet::label;

constexpr int kAnswers = 4;
constexpr int kAnnotatorsPerItem = 3;

struct Args {
  int annotators = 50;
  int items = 30000;
  double seconds = 10;
  double warmup = 1;
  double rate = 0;  // cycles/s offered in all; 0 = closed loop
  size_t server_threads = 0;  // 0: max(64, annotators + 16)
  int answer_bytes = 400;
  std::string mode = "http";
  std::string db_dir;
  bool keep_db = false;
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "label_bench: " << what << "\n";
  std::exit(2);
}

void Check(const tenet::Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double ThreadCpuS() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double ProcessCpuS() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t c = line.find(':');
      return c == std::string::npos ? line : line.substr(c + 2);
    }
  }
  return "unknown";
}

std::string LoadAvg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Made-up text of about `bytes` bytes, deterministic.
std::string Filler(std::mt19937_64& rng, int bytes) {
  static const char* kWords[] = {"the", "model", "answer", "should", "rank", "helpful", "honest", "because", "question",
                                 "values", "careful", "reasoning", "example", "however", "first", "second", "finally",
                                 "data", "user", "response", "clear", "safe", "detail", "context", "explain"};
  std::string s;
  while (static_cast<int>(s.size()) < bytes) {
    if (!s.empty()) s += ' ';
    s += kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
  }
  return s;
}

// `tenet generate`-style JSONL: {"id", "messages": [system, user], "responses": [4 answers]}.
std::string MakeResponsesJsonl(int items, int answer_bytes) {
  std::mt19937_64 rng(12345);
  std::string out;
  for (int i = 0; i < items; ++i) {
    json line;
    line["id"] = "q" + std::to_string(i);
    line["messages"] = json::array({{{"role", "system"}, {"content", "You are a helpful assistant."}},
                                    {{"role", "user"}, {"content", "Question " + std::to_string(i) + ": " + Filler(rng, 150)}}});
    json responses = json::array();
    for (int a = 0; a < kAnswers; ++a) responses.push_back("Answer " + std::to_string(a) + ". " + Filler(rng, answer_bytes));
    line["responses"] = responses;
    out += line.dump();
    out += '\n';
  }
  return out;
}

struct Annotator {
  int64_t user_id = 0;
  std::string email;
  std::string token;  // the session cookie's value
  std::string csrf;
};

struct Ack {  // one submit answered with "duplicate": false
  int64_t submission_id, task_id, annotator_id;
};

struct ClientStats {
  std::vector<double> cycle_ms, next_ms, submit_ms;  // measured window only
  std::vector<Ack> acks;                             // the whole run, warm-up included
  int64_t cycles_measured = 0;
  int64_t cycles_total = 0;
  int64_t non2xx = 0;
  int64_t transport_errors = 0;
  int64_t duplicates_acked = 0;
  bool exhausted = false;
  double exhausted_at_s = 0;
  std::map<int, int64_t> status_counts;  // non-2xx by status
  std::string first_error;
  double cpu_s = 0;  // this thread's CPU time in the measured window
};

// A valid ranking of one task: ranks[d][answer index] = rank, a random permutation of 1..n per
// dimension (answers come in display order, keyed by their "index").
json RandomRanks(const json& task, std::mt19937_64& rng) {
  const size_t n = task.at("answers").size();
  const size_t dims = std::max<size_t>(1, task.at("job").at("dimensions").size());
  json ranks = json::array();
  for (size_t d = 0; d < dims; ++d) {
    std::vector<int> perm(n);
    for (size_t i = 0; i < n; ++i) perm[i] = static_cast<int>(i) + 1;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int> by_index(n, 0);
    for (size_t pos = 0; pos < n; ++pos) by_index.at(task["answers"][pos].at("index").get<size_t>()) = perm[pos];
    ranks.push_back(by_index);
  }
  return ranks;
}

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

struct Window {
  Clock::time_point start, measure_from, end;
};

// When each cycle starts. Closed loop (no interval): as soon as the last one ended. Paced: cycle k
// is planned at start + phase + k * interval (and starts at once when behind), and its latency
// counts from that planned start, so queueing in a slow server is not hidden.
class Pacer {
 public:
  Pacer(const Window& w, double interval_s, double phase_s)
      : interval_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s))),
        next_(w.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(phase_s))),
        end_(w.end) {}
  // The planned start of the next cycle; nullopt once it would fall after the window.
  std::optional<Clock::time_point> Next() {
    if (interval_.count() == 0) {
      const auto now = Clock::now();
      if (now >= end_) return std::nullopt;
      return now;
    }
    if (next_ >= end_) return std::nullopt;
    std::this_thread::sleep_until(next_);
    const auto planned = next_;
    next_ += interval_;
    return planned;
  }

 private:
  Clock::duration interval_;
  Clock::time_point next_, end_;
};

void RecordError(ClientStats& st, const std::string& what) {
  if (st.first_error.empty()) st.first_error = what;
}

// A signed-in annotator's keep-alive client: TCP_NODELAY on, as browsers set it (with Nagle's
// algorithm on, each request waits ~40 ms for a delayed ACK between its header and body writes).
std::unique_ptr<httplib::Client> MakeClient(int port, const Annotator& a) {
  auto cli = std::make_unique<httplib::Client>("127.0.0.1", port);
  cli->set_keep_alive(true);
  cli->set_tcp_nodelay(true);
  cli->set_connection_timeout(10);
  cli->set_read_timeout(60);
  cli->set_write_timeout(60);
  cli->set_default_headers({{"Cookie", "tenet_session=" + a.token}, {"X-CSRF-Token", a.csrf}});
  return cli;
}

// One simulated annotator over HTTP, on a client whose connection is already open.
// One POST; the answer as JSON when it is a 2xx object holding `key`, else nullopt with the
// failure counted (transport error, non-2xx status or unreadable answer) under `what`.
std::optional<json> PostJson(httplib::Client& cli, const std::string& path, const std::string& body, const char* key,
                             const std::string& what, ClientStats& st) {
  auto r = cli.Post(path.c_str(), body, "application/json");
  if (!r) {
    ++st.transport_errors;
    RecordError(st, what + ": " + httplib::to_string(r.error()));
    return std::nullopt;
  }
  if (r->status / 100 != 2) {
    ++st.non2xx;
    ++st.status_counts[r->status];
    RecordError(st, what + ": " + std::to_string(r->status) + " " + r->body);
    return std::nullopt;
  }
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.contains(key)) {
    RecordError(st, what + ": unreadable answer " + r->body.substr(0, 200));
    ++st.non2xx;
    return std::nullopt;
  }
  return j;
}

void HttpClient(httplib::Client& cli, int64_t job_id, const Annotator& a, const Window& w, Pacer pacer, uint64_t seed, ClientStats& st) {
  std::mt19937_64 rng(seed);
  const std::string next_path = "/api/jobs/" + std::to_string(job_id) + "/next";
  std::this_thread::sleep_until(w.start);
  bool cpu_started = false;
  double cpu0 = 0;
  while (const auto planned = pacer.Next()) {
    if (!cpu_started && Clock::now() >= w.measure_from) {
      cpu_started = true;
      cpu0 = ThreadCpuS();
    }
    const auto t0 = *planned;
    const std::optional<json> nj = PostJson(cli, next_path, "{}", "task", "next", st);
    const auto t1 = Clock::now();
    if (!nj) continue;
    if ((*nj)["task"].is_null()) {
      st.exhausted = true;
      st.exhausted_at_s = std::chrono::duration<double>(t1 - w.start).count();
      break;
    }
    const json& task = (*nj)["task"];
    const int64_t task_id = task.at("id").get<int64_t>();
    json body = {{"ranks", RandomRanks(task, rng)}, {"comment", ""}, {"time_spent_ms", 1000}};
    const std::string submit_path = "/api/tasks/" + std::to_string(task_id) + "/submit";
    const std::optional<json> sj = PostJson(cli, submit_path, body.dump(), "submission_id", "submit", st);
    const auto t2 = Clock::now();
    if (!sj) continue;
    if (sj->value("duplicate", true)) {
      ++st.duplicates_acked;
    } else {
      st.acks.push_back({(*sj)["submission_id"].get<int64_t>(), task_id, a.user_id});
    }
    ++st.cycles_total;
    if (t0 >= w.measure_from && t2 <= w.end) {
      ++st.cycles_measured;
      st.cycle_ms.push_back(Ms(t2 - t0));
      st.next_ms.push_back(Ms(t1 - t0));
      st.submit_ms.push_back(Ms(t2 - t1));
    }
  }
  if (cpu_started) st.cpu_s = ThreadCpuS() - cpu0;
}

// The same loop without HTTP: what the two handlers call, called directly.
void StoreClient(label::LabelDb& db, int64_t job_id, const Annotator& a, const Window& w, Pacer pacer, uint64_t seed, ClientStats& st) {
  label::Accounts accounts(db);
  label::Tasks tasks(db);
  std::mt19937_64 rng(seed);
  std::this_thread::sleep_until(w.start);
  bool cpu_started = false;
  double cpu0 = 0;
  while (const auto planned = pacer.Next()) {
    if (!cpu_started && Clock::now() >= w.measure_from) {
      cpu_started = true;
      cpu0 = ThreadCpuS();
    }
    const auto t0 = *planned;
    auto s1 = accounts.Authenticate(a.token);
    if (!s1.ok()) Die("authenticate: " + s1.status().ToString());
    auto n = tasks.Next(s1->user, job_id);
    const auto t1 = Clock::now();
    if (!n.ok()) {
      ++st.non2xx;
      RecordError(st, "next: " + n.status().ToString());
      continue;
    }
    if (!n->has_value()) {
      st.exhausted = true;
      st.exhausted_at_s = std::chrono::duration<double>(t1 - w.start).count();
      break;
    }
    const json task = label::ToJson(**n);  // as the handler encodes it
    label::Submission sub;
    sub.ranks = RandomRanks(task, rng).get<std::vector<std::vector<int>>>();
    sub.time_spent_ms = 1000;
    auto s2 = accounts.Authenticate(a.token);
    if (!s2.ok()) Die("authenticate: " + s2.status().ToString());
    auto r = tasks.Submit(s2->user, (*n)->id, sub);
    const auto t2 = Clock::now();
    if (!r.ok()) {
      ++st.non2xx;
      RecordError(st, "submit: " + r.status().ToString());
      continue;
    }
    if (r->duplicate) ++st.duplicates_acked; else st.acks.push_back({r->submission_id, (*n)->id, a.user_id});
    ++st.cycles_total;
    if (t0 >= w.measure_from && t2 <= w.end) {
      ++st.cycles_measured;
      st.cycle_ms.push_back(Ms(t2 - t0));
      st.next_ms.push_back(Ms(t1 - t0));
      st.submit_ms.push_back(Ms(t2 - t1));
    }
  }
  if (cpu_started) st.cpu_s = ThreadCpuS() - cpu0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (tenet::bench::FlagWalker flags("label_bench", argc, argv); flags.Next();) {
    const std::string& f = flags.flag();
    if (f == "--annotators") args.annotators = std::stoi(flags.Value());
    else if (f == "--items") args.items = std::stoi(flags.Value());
    else if (f == "--seconds") args.seconds = std::stod(flags.Value());
    else if (f == "--warmup") args.warmup = std::stod(flags.Value());
    else if (f == "--rate") args.rate = std::stod(flags.Value());
    else if (f == "--server-threads") args.server_threads = std::stoul(flags.Value());
    else if (f == "--answer-bytes") args.answer_bytes = std::stoi(flags.Value());
    else if (f == "--mode") args.mode = flags.Value();
    else if (f == "--db-dir") args.db_dir = flags.Value();
    else if (f == "--keep-db") args.keep_db = true;
    else {
      std::cerr << "label_bench: unknown flag " << f
                << " (flags: --annotators --items --seconds --warmup --rate --server-threads --answer-bytes --mode http|store --db-dir --keep-db)\n";
      return 2;
    }
  }
  if (args.annotators < 1 || args.items < 1 || args.seconds <= 0 || args.warmup < 0 || args.answer_bytes < 1 || args.rate < 0) Die("bad flag value");
  if (args.mode != "http" && args.mode != "store") Die("--mode is http or store");
  const size_t server_threads = args.server_threads ? args.server_threads : std::max<size_t>(64, static_cast<size_t>(args.annotators) + 16);
  if (args.mode == "http" && server_threads <= static_cast<size_t>(args.annotators)) {
    std::cerr << "label_bench: warning: --server-threads " << server_threads << " <= --annotators " << args.annotators
              << ": each keep-alive connection holds a worker, so some clients will wait for one\n";
  }

  // A fresh store.
  bool made_temp = false;
  if (args.db_dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "label_bench.XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) Die("cannot make a temp dir under " + fs::temp_directory_path().string());
    args.db_dir = tmpl;
    made_temp = true;
  } else {
    fs::create_directories(args.db_dir);
  }
  const std::string db_path = (fs::path(args.db_dir) / "labels.db").string();
  if (fs::exists(db_path)) Die(db_path + " exists; give an empty --db-dir");

  std::cout << "label_bench: machine " << std::thread::hardware_concurrency() << " cores (" << CpuModel() << "), load average "
            << LoadAvg() << "\n";
  auto opened = label::LabelDb::Open(db_path);
  Check(opened.status(), "open " + db_path);
  std::unique_ptr<label::LabelDb> db = std::move(opened).value();
  auto pragmas = db->Read([](tenet::label::Sql& d) -> tenet::Result<std::pair<std::string, int>> {
    const std::string mode = d.raw().execAndGet("PRAGMA journal_mode").getString();
    const int sync = d.raw().execAndGet("PRAGMA synchronous").getInt();
    return std::make_pair(mode, sync);
  });
  Check(pragmas.status(), "pragmas");
  const std::string journal_mode = pragmas->first;
  const int synchronous = pragmas->second;
  const char* sync_names[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
  const std::string sync_name = synchronous >= 0 && synchronous <= 3 ? sync_names[synchronous] : std::to_string(synchronous);
  std::cout << "store: " << db_path << ", journal_mode=" << journal_mode << ", synchronous=" << sync_name
            << (journal_mode == "wal" && synchronous >= 2 ? " (every commit fsyncs the WAL before the response)" : " (NOT durable per commit!)")
            << "\n";

  // The job.
  auto t_setup = Clock::now();
  const std::string jsonl = MakeResponsesJsonl(args.items, args.answer_bytes);
  auto parsed = label::ParseResponses(jsonl, "bench.jsonl");
  Check(parsed.status(), "parse responses");
  label::JobSpec spec;
  spec.name = "label-bench";
  spec.instructions_md = "Rank the answers from best to worst.";
  spec.annotators_per_item = kAnnotatorsPerItem;
  spec.source_file = "bench.jsonl";
  label::Jobs jobs(*db);
  auto job = jobs.Create(spec, *parsed);
  Check(job.status(), "create job");
  const int64_t job_id = job->id;
  std::cout << "job " << job_id << ": " << args.items << " items x " << kAnswers << " answers (~" << jsonl.size() / args.items
            << " bytes a line), " << kAnnotatorsPerItem << " annotators per item = " << args.items * kAnnotatorsPerItem
            << " submissions possible\n";

  // The annotators: invitation + acceptance (argon2id each), two at a time.
  label::Accounts accounts(*db);
  std::vector<Annotator> people(static_cast<size_t>(args.annotators));
  {
    std::atomic<int> next{0};
    std::mutex err_mu;
    std::string err;
    auto worker = [&] {
      for (int i; (i = next.fetch_add(1)) < args.annotators;) {
        Annotator& a = people[static_cast<size_t>(i)];
        a.email = "annotator" + std::to_string(i) + "@bench.example";
        auto inv = accounts.Invite(a.email, "", 3600);
        if (!inv.ok()) { std::lock_guard<std::mutex> l(err_mu); err = "invite: " + inv.status().ToString(); return; }
        auto s = accounts.AcceptInvitation(inv->second, "Annotator " + std::to_string(i), "bench-password-" + std::to_string(i));
        if (!s.ok()) { std::lock_guard<std::mutex> l(err_mu); err = "accept: " + s.status().ToString(); return; }
        a.user_id = s->session.user.id;
        a.token = s->token;
        a.csrf = s->session.csrf_token;
      }
    };
    std::vector<std::thread> ts;
    for (unsigned i = 0; i < std::max(1u, std::thread::hardware_concurrency()); ++i) ts.emplace_back(worker);
    for (auto& t : ts) t.join();
    if (!err.empty()) Die(err);
  }
  std::cout << "setup: " << args.annotators << " annotators invited and signed in, in "
            << std::chrono::duration<double>(Clock::now() - t_setup).count() << " s\n";

  // The server.
  label::PortalOptions popt;
  popt.http.threads = server_threads;
  popt.http.max_connections_per_client = 1u << 20;  // every simulated annotator connects from loopback
  std::unique_ptr<label::PortalServer> server;
  std::thread server_thread;
  std::vector<std::unique_ptr<httplib::Client>> conns;  // one per annotator
  int port = 0;
  if (args.mode == "http") {
    server = std::make_unique<label::PortalServer>(*db, popt);
    Check(server->Bind("127.0.0.1", 0), "bind");
    port = server->port();
    server_thread = std::thread([&] { Check(server->Run(), "serve"); });
    bool up = false;
    for (int i = 0; i < 500 && !up; ++i) {
      httplib::Client probe("127.0.0.1", port);
      auto r = probe.Get("/api/me");
      if (r && r->status == 401) up = true; else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!up) Die("the portal did not come up on port " + std::to_string(port));
    // Open every client's connection before the clock starts, one at a time: the portal listens
    // with cpp-httplib's backlog of 5, and 50 connects at once lose SYNs (1 s retransmits).
    for (const Annotator& a : people) {
      conns.push_back(MakeClient(port, a));
      auto r = conns.back()->Get("/api/me");
      if (!r || r->status != 200) Die("GET /api/me for " + a.email + " failed: " + (r ? std::to_string(r->status) : httplib::to_string(r.error())));
    }
    std::cout << "portal: 127.0.0.1:" << port << ", " << server_threads << " worker threads; " << args.annotators
              << " keep-alive clients (TCP_NODELAY, connected and signed in before the clock starts)\n";
  } else {
    std::cout << "mode store: no HTTP; each client thread calls Authenticate + Tasks::Next, Authenticate + Tasks::Submit directly\n";
  }

  // The run.
  Window w;
  w.start = Clock::now() + std::chrono::milliseconds(200);
  w.measure_from = w.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(args.warmup));
  w.end = w.measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(args.seconds));
  std::vector<ClientStats> stats(people.size());
  std::vector<std::thread> clients;
  const double interval_s = args.rate > 0 ? args.annotators / args.rate : 0;
  for (size_t i = 0; i < people.size(); ++i) {
    const Pacer pacer(w, interval_s, interval_s * static_cast<double>(i) / args.annotators);
    clients.emplace_back([&, i, pacer] {
      if (args.mode == "http") HttpClient(*conns[i], job_id, people[i], w, pacer, 1000 + i, stats[i]);
      else StoreClient(*db, job_id, people[i], w, pacer, 1000 + i, stats[i]);
    });
  }
  std::this_thread::sleep_until(w.measure_from);
  const double cpu0 = ProcessCpuS();
  std::this_thread::sleep_until(w.end);
  const double cpu_window = ProcessCpuS() - cpu0;
  for (auto& t : clients) t.join();
  conns.clear();
  if (server) {
    server->Stop();
    server_thread.join();
  }

  // Figures.
  ClientStats all;
  double client_cpu = 0;
  bool exhausted = false;
  double exhausted_at = 1e30;
  for (ClientStats& s : stats) {
    all.cycle_ms.insert(all.cycle_ms.end(), s.cycle_ms.begin(), s.cycle_ms.end());
    all.next_ms.insert(all.next_ms.end(), s.next_ms.begin(), s.next_ms.end());
    all.submit_ms.insert(all.submit_ms.end(), s.submit_ms.begin(), s.submit_ms.end());
    all.acks.insert(all.acks.end(), s.acks.begin(), s.acks.end());
    all.cycles_measured += s.cycles_measured;
    all.cycles_total += s.cycles_total;
    all.non2xx += s.non2xx;
    all.transport_errors += s.transport_errors;
    all.duplicates_acked += s.duplicates_acked;
    for (auto [code, n] : s.status_counts) all.status_counts[code] += n;
    if (all.first_error.empty()) all.first_error = s.first_error;
    if (s.exhausted) {
      exhausted = true;
      exhausted_at = std::min(exhausted_at, s.exhausted_at_s);
    }
    client_cpu += s.cpu_s;
  }
  const double cps = static_cast<double>(all.cycles_measured) / args.seconds;
  const double c50 = Pct(all.cycle_ms, 0.50), c90 = Pct(all.cycle_ms, 0.90), c99 = Pct(all.cycle_ms, 0.99),
               cmax = all.cycle_ms.empty() ? 0 : all.cycle_ms.back();
  const double n50 = Pct(all.next_ms, 0.50), n99 = Pct(all.next_ms, 0.99), nmax = all.next_ms.empty() ? 0 : all.next_ms.back();
  const double s50 = Pct(all.submit_ms, 0.50), s99 = Pct(all.submit_ms, 0.99), smax = all.submit_ms.empty() ? 0 : all.submit_ms.back();

  std::printf("run: %s mode, %d annotators, %.1f s measured after %.1f s warm-up, ", args.mode.c_str(), args.annotators, args.seconds, args.warmup);
  if (args.rate > 0) {
    std::printf("paced: %.0f cycles/s offered (each client starts a cycle every %.1f ms; latency counts from the planned start)\n", args.rate, interval_s * 1000);
  } else {
    std::printf("closed loop (each client starts its next cycle as soon as the last one ends)\n");
  }
  std::printf("cycles/s: %.0f  (%lld cycles measured, %lld in all)\n", cps, static_cast<long long>(all.cycles_measured),
              static_cast<long long>(all.cycles_total));
  std::printf("cycle latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", c50, c90, c99, cmax);
  std::printf("next   ms: p50 %.2f  p99 %.2f  max %.2f\n", n50, n99, nmax);
  std::printf("submit ms: p50 %.2f  p99 %.2f  max %.2f\n", s50, s99, smax);
  std::printf("non-2xx: %lld, transport errors: %lld, duplicate acks: %lld\n", static_cast<long long>(all.non2xx),
              static_cast<long long>(all.transport_errors), static_cast<long long>(all.duplicates_acked));
  for (auto [code, n] : all.status_counts) std::printf("  status %d: %lld\n", code, static_cast<long long>(n));
  if (!all.first_error.empty()) std::printf("  first error: %s\n", all.first_error.substr(0, 300).c_str());
  std::printf("cpu in the measured window: %.2f cores busy (client threads%s %.2f, %s %.2f) of %u\n",
              cpu_window / args.seconds, args.mode == "store" ? ", store calls included," : "", client_cpu / args.seconds,
              args.mode == "store" ? "other threads" : "server + store", (cpu_window - client_cpu) / args.seconds,
              std::thread::hardware_concurrency());
  if (exhausted) {
    std::printf("WARNING: the job ran out of items %.1f s into the run ({\"task\": null}); give more --items\n", exhausted_at);
  }

  // Correctness, from the store itself.
  struct DbFacts {
    int64_t submissions = 0, over_assigned = 0, dup_pairs = 0, bad_counters = 0;
    std::map<int64_t, std::pair<int64_t, int64_t>> by_id;  // submission id -> (task, annotator)
  };
  auto facts = db->Read([&](tenet::label::Sql& d) -> tenet::Result<DbFacts> {
    DbFacts f;
    SQLite::Statement& c = d.Prepare("SELECT count(*) FROM submissions WHERE job_id = ?");
    c.bind(1, job_id);
    c.executeStep();
    f.submissions = c.getColumn(0).getInt64();
    SQLite::Statement& over = d.Prepare("SELECT count(*) FROM (SELECT item_id FROM submissions WHERE job_id = ? GROUP BY item_id HAVING count(*) > ?)");
    over.bind(1, job_id);
    over.bind(2, kAnnotatorsPerItem);
    over.executeStep();
    f.over_assigned = over.getColumn(0).getInt64();
    SQLite::Statement& dup = d.Prepare("SELECT count(*) FROM (SELECT 1 FROM submissions WHERE job_id = ? GROUP BY item_id, annotator_id HAVING count(*) > 1)");
    dup.bind(1, job_id);
    dup.executeStep();
    f.dup_pairs = dup.getColumn(0).getInt64();
    // The items' counters against the rows they count.
    SQLite::Statement& cnt = d.Prepare("SELECT count(*) FROM items i WHERE i.job_id = ? AND i.n_submitted != "
                             "(SELECT count(*) FROM submissions s WHERE s.item_id = i.id)");
    cnt.bind(1, job_id);
    cnt.executeStep();
    f.bad_counters = cnt.getColumn(0).getInt64();
    SQLite::Statement& rows = d.Prepare("SELECT id, task_id, annotator_id FROM submissions WHERE job_id = ?");
    rows.bind(1, job_id);
    while (rows.executeStep()) f.by_id[rows.getColumn(0).getInt64()] = {rows.getColumn(1).getInt64(), rows.getColumn(2).getInt64()};
    return f;
  });
  Check(facts.status(), "read back");
  int64_t lost = 0, acked_twice = 0;
  std::set<int64_t> seen;
  for (const Ack& a : all.acks) {
    if (!seen.insert(a.submission_id).second) ++acked_twice;
    auto it = facts->by_id.find(a.submission_id);
    if (it == facts->by_id.end() || it->second != std::make_pair(a.task_id, a.annotator_id)) ++lost;
  }
  const int64_t duplicated = facts->dup_pairs + acked_twice;
  int64_t unacked = 0;  // stored, never acknowledged (a client error after the commit)
  for (const auto& [id, row] : facts->by_id) unacked += seen.count(id) ? 0 : 1;
  const bool count_match = facts->submissions == static_cast<int64_t>(all.acks.size());
  std::printf("store: %lld submissions; %lld acknowledged with \"duplicate\": false (%s)%s\n",
              static_cast<long long>(facts->submissions), static_cast<long long>(all.acks.size()), count_match ? "equal" : "DIFFERENT",
              unacked > 0 ? (", " + std::to_string(unacked) + " stored but unacknowledged (client errors after commit)").c_str() : "");
  if (facts->bad_counters) std::printf("WARNING: %lld items' n_submitted differ from their submission rows\n", static_cast<long long>(facts->bad_counters));
  std::printf("lost: %lld, duplicated: %lld, over-assigned: %lld\n", static_cast<long long>(lost), static_cast<long long>(duplicated),
              static_cast<long long>(facts->over_assigned));

  // The target: >= 1000 cycles/s (paced: the offered rate, >= 1000, kept within 1%),
  // p99 cycle < 50 ms, nothing lost, duplicated or over-assigned.
  const bool throughput_ok = args.rate > 0 ? args.rate >= 1000 && cps >= 0.99 * args.rate : cps >= 1000;
  const bool target_met = throughput_ok && c99 < 50 && lost == 0 && duplicated == 0 && facts->over_assigned == 0;
  std::printf("target (>= 1000 cycles/s, p99 < 50 ms, nothing lost): %s\n", target_met ? "met" : "missed");
  json summary = {{"bench", "label"},
                  {"mode", args.mode},
                  {"cores", std::thread::hardware_concurrency()},
                  {"annotators", args.annotators},
                  {"items", args.items},
                  {"server_threads", args.mode == "http" ? json(server_threads) : json(nullptr)},
                  {"seconds", args.seconds},
                  {"rate", args.rate > 0 ? json(args.rate) : json(nullptr)},
                  {"journal_mode", journal_mode},
                  {"synchronous", sync_name},
                  {"cycles", all.cycles_measured},
                  {"cycles_per_s", std::round(cps * 10) / 10},
                  {"cycle_ms", {{"p50", c50}, {"p90", c90}, {"p99", c99}, {"max", cmax}}},
                  {"next_ms", {{"p50", n50}, {"p99", n99}, {"max", nmax}}},
                  {"submit_ms", {{"p50", s50}, {"p99", s99}, {"max", smax}}},
                  {"non_2xx", all.non2xx},
                  {"transport_errors", all.transport_errors},
                  {"cpu_cores_busy", cpu_window / args.seconds},
                  {"client_cpu_cores", client_cpu / args.seconds},
                  {"exhausted", exhausted},
                  {"submissions_stored", facts->submissions},
                  {"submissions_acked", all.acks.size()},
                  {"lost", lost},
                  {"duplicated", duplicated},
                  {"over_assigned", facts->over_assigned},
                  {"target_met", target_met}};
  std::cout << summary.dump() << "\n";

  db.reset();
  if (made_temp && !args.keep_db) {
    std::error_code ec;
    fs::remove_all(args.db_dir, ec);
  } else {
    std::cerr << "label_bench: store kept at " << db_path << "\n";
  }
  return (lost || duplicated || facts->over_assigned) ? 1 : 0;
}
