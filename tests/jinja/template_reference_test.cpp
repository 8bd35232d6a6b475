// jinja::Template against independent reference renderers, byte for byte:
//   - Python Jinja2 configured as transformers configures it (render_reference.py), the ground
//     truth: it is what apply_chat_template runs;
//   - Hugging Face's JavaScript Jinja, @huggingface/jinja (render_reference.mjs).
// Real chat templates (tests/jinja/data/templates, plus the one shipped with the Llama 3
// tokenizer fixture) are rendered over many conversations; a feature corpus covers the rest of
// the subset against Python only, since @huggingface/jinja departs from Jinja2 in corner cases
// (float printing, str.title, tuples, ...). Where the two references disagree on a real template
// the test follows Python and prints the disagreement.
//
// Each reference is skipped (with a message) when its interpreter is missing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tenet/jinja/template.h"
#include "test_util.h"

namespace tenet::jinja {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Case {
  std::string name;
  std::string template_source;
  json context;
};

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Escapes a string for a one-line, diff-friendly message.
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

std::string DescribeDiff(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  size_t from = i > 40 ? i - 40 : 0;
  std::ostringstream o;
  o << "first difference at byte " << i << "\n  reference: ..." << Escape(want.substr(from, 120))
    << "\n  ours:      ..." << Escape(got.substr(from, 120)) << "\n  full reference: " << Escape(want)
    << "\n  full ours:      " << Escape(got);
  return o.str();
}

json Msg(const std::string& role, const std::string& content) { return json{{"role", role}, {"content", content}}; }

std::vector<json> Conversations() {
  std::vector<json> c;
  c.push_back(json::array({Msg("user", "Hello!")}));
  c.push_back(json::array({Msg("system", "You are a helpful assistant."), Msg("user", "What is 2+2?")}));
  c.push_back(json::array({Msg("system", "Be terse."), Msg("user", "Hi"), Msg("assistant", "Hello. How can I help?"),
                           Msg("user", "Tell me a joke.")}));
  c.push_back(json::array({Msg("user", "one"), Msg("assistant", "two"), Msg("user", "three"), Msg("assistant", "four")}));
  c.push_back(json::array({Msg("user", "  héllo wörld — 日本語のテキスト 🎉 مرحبا  \n"),
                           Msg("assistant", "Ünïcödé ✓"), Msg("user", "\u00a0nbsp\u3000ideographic space\u2028")}));
  c.push_back(json::array({Msg("user", "Braces {{ x }} {% if y %} {# z #} and \"double\" 'single' \\ backslash \\n"),
                           Msg("assistant", "}} {{ %} {% -%} {%- end"), Msg("user", "<|eot_id|> [INST] <s>")}));
  c.push_back(json::array({Msg("system", ""), Msg("user", ""), Msg("assistant", ""), Msg("user", " ")}));
  c.push_back(json::array({Msg("user", "\n\nleading and trailing newlines\n\n")}));
  c.push_back(json::array({Msg("user", "a"), Msg("user", "b")}));            // not alternating
  c.push_back(json::array({Msg("assistant", "I speak first")}));            // assistant first
  c.push_back(json::array({Msg("system", "sys only")}));
  c.push_back(json::array({Msg("user", "hi"), Msg("assistant", "hello"), Msg("user", "bye"), Msg("assistant", "ciao"),
                           Msg("user", "again"), Msg("assistant", "sure"), Msg("user", "last")}));
  return c;
}

// Tool-use conversations in the shapes transformers documents (OpenAI-style tool_calls).
std::vector<json> ToolContexts() {
  json tools = json::array({json{{"type", "function"},
                                 {"function",
                                  {{"name", "get_weather"},
                                   {"description", "Get the weather for a city."},
                                   {"parameters",
                                    {{"type", "object"},
                                     {"properties", {{"city", {{"type", "string"}, {"description", "City name, e.g. Zürich"}}}}},
                                     {"required", {"city"}}}}}}}});
  json call = json{{"role", "assistant"},
                   {"tool_calls", json::array({json{{"id", "abc123XYZ"},
                                                    {"type", "function"},
                                                    {"function", {{"name", "get_weather"}, {"arguments", {{"city", "Zürich"}}}}}}})}};
  json result = json{{"role", "tool"}, {"tool_call_id", "abc123XYZ"}, {"name", "get_weather"}, {"content", "22 C, sunny"}};
  std::vector<json> out;
  out.push_back(json{{"messages", json::array({Msg("user", "Weather in Zürich?")})}, {"tools", tools}});
  out.push_back(json{{"messages", json::array({Msg("system", "Use tools."), Msg("user", "Weather in Zürich?"), call, result})},
                     {"tools", tools}});
  out.push_back(json{{"messages", json::array({Msg("user", "Weather?"), call, result, Msg("assistant", "It is sunny.")})},
                     {"tools", tools},
                     {"tools_in_user_message", false}});
  out.push_back(json{{"messages", json::array({Msg("user", "What day is it?")})}, {"date_string", "01 Jan 2025"}});
  return out;
}

// Feature snippets beyond what the real templates exercise (Python reference only).
std::vector<std::string> FeatureSnippets() {
  return {
      "{{ xs|tojson }}|{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ 'é\"\\n'|tojson }}|{{ [1.0, 2e20, none, true]|tojson }}",
      "{{ xs[1:] }}{{ xs[::-1] }}{{ s[::-1] }}{{ s[-3:] }}{{ s[1:8:2] }}{{ xs[-1] }}{{ xs[5] }}|{{ s.upper() }}{{ s|title }}",
      "{% for k, v in d.items() %}{{ loop.index }}{{ k }}={{ v }}{{ ',' if not loop.last }}{% endfor %}",
      "{% for x in xs if x > 1 %}{{ loop.index0 }}/{{ loop.length }}/{{ loop.revindex }}{% else %}none{% endfor %}",
      "{% set ns = namespace(a=1, b='x') %}{% for x in xs %}{% set ns.a = ns.a + x %}{% endfor %}{{ ns.a }}{{ ns.b }}",
      "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 'a' ~ 1 ~ none }} {{ 0.1 + 0.2 }}",
      "{{ 'a' in 'cat' }} {{ 2 in xs }} {{ 'a' in d }} {{ 5 not in xs }} {{ 1 < 2 < 3 }} {{ x is defined }} {{ 4 is divisibleby 2 }}",
      "{{ '  hi  '|trim }}|{{ 'xxhixx'.strip('x') }}|{{ s.endswith(('x','ld')) }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}",
      "{{ xs|length }} {{ s|length }} {{ xs|first }} {{ xs|last }} {{ xs|join('-') }} {{ s|list }} {{ [3,1,2]|sort }} {{ ['b','A','a']|unique|list }}",
      "{{ nope }}|{{ nope|default('dflt') }}|{{ ''|default('e', true) }}|{{ '3'|int + 1 }}|{{ '4.7'|int }}|{{ 3|float }}|{{ d.get('zz', 5) }}",
      "{{ [{'r':'u','c':1},{'r':'a','c':2}]|selectattr('r','equalto','u')|map(attribute='c')|list }} {{ [1,2,3,4]|reject('odd')|list }}",
      "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }}",
      "{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}",
      "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t %}captured {{ xs|length }}{% endset %}[{{ t }}]{{ (1, 2) }}{{ [1, 'a', none] }}",
      "{{ strftime_now('%d %b %Y') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d|items|list }}",
      "a\n  {% if true %}\n  x\n  {% endif %}\nb\n  {# c #}\n{% raw %}{{ r }}{% endraw %}\n{%+ if 1 +%}\n k{% endif %}",
      "  {%- if true %} y {% endif -%}  \nz<{{- ' a ' -}}>  {{ 'v' }}\n{{ 'w' }}\n",
      "{{ 'hello world-x(y'|title }} {{ 'hello world-x(y'.title() }} {{ 'hELLO'|capitalize }} {{ 'ÉCOLE'|lower }} {{ 'straße'|upper }}",
      "{{ 1e16 }} {{ 123456789012345.0 }} {{ 1/3 }} {{ 2.5e-7 }} {{ -0.0 }} {{ 10**15 }} {{ 3 * 1.5 }}",
      "{{ messages[0]['role'] if messages else 'none' }}{{ messages|length }}{{ messages[-1].content|trim|length }}",
      "{{ 'x' if nope is none else 'y' }}{{ nope is not defined }}{{ none is none }}{{ true is true }}{{ xs is sequence }}",
      "{{ '\\u00e9\\x41\\101\\t|\\d' }}{{ \"it's\" }}{{ [\"it's\", 'say \"hi\"'] }}",
      "{{ {'b': 1, 'a': [1, {'c': none}]}|tojson(indent=4) }}{{ [[], {}]|tojson(indent=2) }}{{ 'é'|tojson(ensure_ascii=true) }}",
      "{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'xay'.replace('a', '') }}|{{ 'aaa'.replace('a', 'b', 2) }}",
      "{{ range(5)|list }}{{ range(1, 10, 3)|list }}{{ range(5, 0, -2)|list }}{{ xs|sum(start=10) }}{{ [1.5, 2]|sum }}",
  };
}

std::vector<Case> BuildCases(bool* has_template_dir) {
  std::vector<Case> cases;
  fs::path dir = fs::path(testing::SourceDir()) / "tests/jinja/data/templates";
  *has_template_dir = fs::is_directory(dir);
  std::vector<std::pair<std::string, std::string>> templates;
  if (*has_template_dir) {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".jinja") templates.emplace_back(entry.path().stem().string(), ReadAll(entry.path().string()));
    }
  }
  std::string fixture = testing::Llama3TokenizerDir() + "/tokenizer_config.json";
  if (fs::exists(fixture)) {
    json config = json::parse(ReadAll(fixture), nullptr, false);
    if (config.is_object() && config.contains("chat_template") && config["chat_template"].is_string()) {
      templates.emplace_back("llama3_tokenizer_fixture", config["chat_template"].get<std::string>());
    }
  }
  std::sort(templates.begin(), templates.end());
  std::vector<json> convs = Conversations();
  std::vector<json> tool_contexts = ToolContexts();
  for (const auto& [name, source] : templates) {
    bool llama = name.find("llama") != std::string::npos;
    json base{{"bos_token", llama ? "<|begin_of_text|>" : "<s>"}, {"eos_token", llama ? "<|eot_id|>" : "</s>"}};
    for (size_t i = 0; i < convs.size() + tool_contexts.size(); ++i) {
      for (bool agp : {true, false}) {
        json ctx = base;
        if (i < convs.size()) {
          ctx["messages"] = convs[i];
        } else {
          ctx.update(tool_contexts[i - convs.size()]);
        }
        ctx["add_generation_prompt"] = agp;
        cases.push_back({name + " #" + std::to_string(i) + (agp ? " +gen" : ""), source, ctx});
      }
    }
  }
  return cases;
}

std::vector<Case> FeatureCases() {
  std::vector<Case> cases;
  json ctx{{"xs", {1, 2, 3}},
           {"d", {{"a", 1}, {"b", {1, 2}}}},
           {"s", "Hello World"},
           {"messages", json::array({Msg("user", "hi"), Msg("assistant", "  yo  ")})}};
  int i = 0;
  for (const std::string& snippet : FeatureSnippets()) cases.push_back({"feature #" + std::to_string(i++), snippet, ctx});
  return cases;
}

struct Outcome {
  bool ok = false;
  std::string text;  // rendered text or error message
};

// Runs a reference renderer over `cases`; empty when it is unavailable (reason in *why).
std::vector<Outcome> RunReference(const std::string& command_prefix, const std::vector<Case>& cases,
                                  const std::string& tag, std::string* why) {
  json input = json::array();
  for (const Case& c : cases) input.push_back(json{{"template", c.template_source}, {"context", c.context}});
  std::string path = testing::ScratchDir() + "/cases_" + tag + ".json";
  std::ofstream(path) << input.dump();
  auto r = testing::RunCommand(command_prefix + " " + testing::ShellQuote(path), /*merge_stderr=*/false);
  if (r.exit_code != 0) {
    *why = command_prefix + " exited " + std::to_string(r.exit_code);
    return {};
  }
  json out = json::parse(r.out, nullptr, false);
  if (!out.is_array() || out.size() != cases.size()) {
    *why = "unreadable output from " + command_prefix + ": " + r.out.substr(0, 300);
    return {};
  }
  std::vector<Outcome> results;
  for (const json& o : out) {
    Outcome x;
    x.ok = o.value("ok", false);
    x.text = x.ok ? o.value("text", "") : o.value("error", "");
    results.push_back(std::move(x));
  }
  return results;
}

Outcome RenderOurs(const Case& c) {
  auto t = Template::Parse(c.template_source);
  if (!t.ok()) return {false, t.status().ToString()};
  auto r = t->Render(c.context);
  if (!r.ok()) return {false, r.status().ToString()};
  return {true, *r};
}

bool HavePythonJinja() { return testing::RunCommand("/usr/bin/python3 -c 'import jinja2' >/dev/null 2>&1").exit_code == 0; }
bool HaveNode() { return testing::RunCommand(testing::ShellQuote(testing::NodeBin()) + " --version >/dev/null 2>&1").exit_code == 0; }

std::string Script(const std::string& name) { return testing::SourceDir() + "/tests/jinja/" + name; }

// Compares ours with `want`; errors must match as errors (messages differ between engines).
void ExpectSame(const Case& c, const Outcome& want, const Outcome& ours, const std::string& reference) {
  if (!want.ok) {
    EXPECT_FALSE(ours.ok) << c.name << ": " << reference << " fails (" << want.text << ") but we rendered: "
                          << Escape(ours.text);
    return;
  }
  ASSERT_TRUE(ours.ok) << c.name << ": we failed (" << ours.text << ") but " << reference
                       << " rendered: " << Escape(want.text);
  EXPECT_TRUE(ours.text == want.text) << c.name << " vs " << reference << ": " << DescribeDiff(want.text, ours.text)
                                      << "\n  template: " << Escape(c.template_source.substr(0, 300));
}

TEST(JinjaReference, RealTemplatesMatchPythonJinja2) {
  if (!HavePythonJinja()) GTEST_FAIL() << "python3 with jinja2 not available (Debian: python3-jinja2)";
  bool has_dir = false;
  std::vector<Case> cases = BuildCases(&has_dir);
  ASSERT_TRUE(has_dir) << "missing tests/jinja/data/templates";
  ASSERT_GT(cases.size(), 200u);
  std::string why;
  std::vector<Outcome> want = RunReference("/usr/bin/python3 " + testing::ShellQuote(Script("render_reference.py")), cases, "py", &why);
  ASSERT_FALSE(want.empty()) << why;
  int rendered = 0, raised = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    ExpectSame(cases[i], want[i], RenderOurs(cases[i]), "Python Jinja2");
    (want[i].ok ? rendered : raised)++;
  }
  std::cout << "[ info ] " << cases.size() << " cases: " << rendered << " rendered, " << raised
            << " raised (role checks) in Python Jinja2\n";
}

TEST(JinjaReference, RealTemplatesMatchHuggingFaceJinjaJs) {
  if (!HaveNode()) GTEST_FAIL() << "node not available";
  bool has_dir = false;
  std::vector<Case> cases = BuildCases(&has_dir);
  ASSERT_TRUE(has_dir);
  std::string why;
  std::vector<Outcome> js = RunReference(testing::ShellQuote(testing::NodeBin()) + " " + testing::ShellQuote(Script("render_reference.mjs")), cases, "js", &why);
  ASSERT_FALSE(js.empty()) << why;
  std::vector<Outcome> py;
  if (HavePythonJinja()) {
    py = RunReference("/usr/bin/python3 " + testing::ShellQuote(Script("render_reference.py")), cases, "py", &why);
  }
  int disagreements = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (!py.empty() && (py[i].ok != js[i].ok || (py[i].ok && py[i].text != js[i].text))) {
      ++disagreements;  // Python is ground truth; the other test checks it
      std::cout << "[ note ] " << cases[i].name << ": @huggingface/jinja differs from Python Jinja2\n";
      continue;
    }
    ExpectSame(cases[i], js[i], RenderOurs(cases[i]), "@huggingface/jinja");
  }
  std::cout << "[ info ] " << cases.size() << " cases, " << disagreements << " where the JS and Python references disagree\n";
}

TEST(JinjaReference, FeatureCorpusMatchesPythonJinja2) {
  if (!HavePythonJinja()) GTEST_FAIL() << "python3 with jinja2 not available (Debian: python3-jinja2)";
  std::vector<Case> cases = FeatureCases();
  std::string why;
  std::vector<Outcome> want = RunReference("/usr/bin/python3 " + testing::ShellQuote(Script("render_reference.py")), cases, "py", &why);
  ASSERT_FALSE(want.empty()) << why;
  for (size_t i = 0; i < cases.size(); ++i) {
    ASSERT_TRUE(want[i].ok) << cases[i].name << " fails in Python: " << want[i].text;
    ExpectSame(cases[i], want[i], RenderOurs(cases[i]), "Python Jinja2");
  }
}

}  // namespace
}  // namespace tenet::jinja
