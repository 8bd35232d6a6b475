// Unit tests of jinja::Template's Jinja subset: one test per feature with outputs taken from Python
// Jinja2 configured like transformers (trim_blocks, lstrip_blocks, loopcontrols), plus incorrect
// and hostile templates, which must fail with the right code and a message naming the construct.
// Real model templates against the reference renderers: chat_template_reference_test.cpp.
#include "tenet/jinja/template.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace tenet::jinja {
namespace {

using nlohmann::json;

json DefaultContext() {
  return json{{"xs", {1, 2, 3}},
              {"d", {{"a", 1}, {"b", {1, 2}}}},
              {"s", "Hello World"},
              {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
}

// Renders or returns "ERROR: <status>" so expectations read as one string.
std::string R(const std::string& source, const json& context = DefaultContext(), const RenderOptions& options = {}) {
  auto t = Template::Parse(source);
  if (!t.ok()) return "ERROR: " + t.status().ToString();
  auto r = t->Render(context, options);
  if (!r.ok()) return "ERROR: " + r.status().ToString();
  return *r;
}

Status ErrorOf(const std::string& source, const json& context = DefaultContext(), const RenderOptions& options = {}) {
  auto t = Template::Parse(source);
  if (!t.ok()) return t.status();
  auto r = t->Render(context, options);
  return r.ok() ? Status::OK() : r.status();
}

void ExpectError(const std::string& source, Status::Code code, const std::string& needle,
                 const json& context = DefaultContext(), const RenderOptions& options = {}) {
  Status s = ErrorOf(source, context, options);
  ASSERT_FALSE(s.ok()) << "expected an error for: " << source.substr(0, 200);
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos) << "message '" << s.message() << "' lacks '" << needle << "'";
}

// ---- whitespace control (Jinja2 with trim_blocks=True, lstrip_blocks=True) ----

TEST(JinjaWhitespace, TrimBlocksAndLstripBlocks) {
  EXPECT_EQ(R("a\n  {% if true %}\n  x\n  {% endif %}\nb"), "a\n  x\nb");
  EXPECT_EQ(R("  {% for x in xs %}\n  {{ x }}\n  {% endfor %}\n"), "  1\n  2\n  3\n");
}

TEST(JinjaWhitespace, VariableTagsAreNotTrimmed) {
  EXPECT_EQ(R("{{ 'x' }}\n{{ 'y' }}"), "x\ny");
  EXPECT_EQ(R(" {{ 1 }} {% for x in xs %} {{x}} {% endfor %}"), " 1  1  2  3 ");
}

TEST(JinjaWhitespace, MinusStripsAllWhitespace) {
  EXPECT_EQ(R("  {%- if true %} y {% endif -%}  \nz"), " y z");
  EXPECT_EQ(R("<{{- ' a ' -}}>   "), "< a >   ");
  EXPECT_EQ(R("a \n\t {{- 'b' }}"), "ab");
}

TEST(JinjaWhitespace, PlusDisablesTrimAndLstrip) {
  EXPECT_EQ(R("{% if true +%}\nk{%+ endif %}"), "\nk");
  EXPECT_EQ(R("x\n  {%+ if true %}y{% endif %}"), "x\n  y");
}

TEST(JinjaWhitespace, CommentsRawTrailingNewlineCrlf) {
  EXPECT_EQ(R("{# c #}\n  {# c2 #}\nw"), "w");
  EXPECT_EQ(R("{% raw %}{{ x }}{% if %}{% endraw %}"), "{{ x }}{% if %}");
  EXPECT_EQ(R("line1\n"), "line1");  // keep_trailing_newline=False drops one
  EXPECT_EQ(R("line1\n\n"), "line1\n");
  EXPECT_EQ(R("a\r\nb{% if true %}\r\nc{% endif %}"), "a\nbc");
}

// ---- expressions ----

TEST(JinjaExpr, LiteralsAndPrinting) {
  EXPECT_EQ(R("{{ 1 }}{{ 1.0 }}{{ 1e20 }}{{ 0.0001 }}{{ 1e-5 }}{{ true }}{{ False }}{{ none }}{{ None }}"),
            "11.01e+200.00011e-05TrueFalseNoneNone");
  EXPECT_EQ(R("{{ [1, 'a', none, true, 1.0, {'k': 'v'}] }}{{ (1, 2) }}{{ (1,) }}"),
            "[1, 'a', None, True, 1.0, {'k': 'v'}](1, 2)(1,)");
  EXPECT_EQ(R("{{ \"\\u00e9\\x41\\101\\t|\\d\" }}{{ 'a' 'b' }}{{ \"it's\" }}"), "éAA\t|\\dabit's");
  EXPECT_EQ(R("{{ [\"it's\"] }}"), "[\"it's\"]");
}

TEST(JinjaExpr, Arithmetic) {
  EXPECT_EQ(R("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }}"),
            "3 -4 1 2 3.5 1024 7");
  EXPECT_EQ(R("{{ 'a' ~ 1 ~ none }} {{ 10 / 4 }} {{ 0.1 + 0.2 }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ true + 1 }}"),
            "a1None 2.5 0.30000000000000004 ababab [1, 2] 2");
  EXPECT_EQ(R("{{ -(xs|length) }}{{ (xs|length) - 1 }}"), "-32");
  // Unary minus binds tighter than a filter in Jinja2: -xs|length is (-xs)|length.
  ExpectError("{{ -xs|length }}", Status::Code::kInvalidArgument, "bad operand type for unary -: 'list'");
}

TEST(JinjaExpr, ComparisonsAndLogic) {
  EXPECT_EQ(R("{{ 'a' in 'cat' }} {{ 2 in xs }} {{ 'a' in d }} {{ 5 not in xs }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }}"),
            "True True True True True False");
  EXPECT_EQ(R("{{ 1 if true }}{{ 2 if false else 3 }}{{ true and 'yes' }}{{ false or 'no' }}{{ not none }}{{ none or [] }}"),
            "13yesnoTrue[]");
  EXPECT_EQ(R("{{ 1 == 1.0 }}{{ 'a' != 'b' }}{{ [1, 2] == [1, 2] }}{{ {'a': 1} == {'a': 1} }}{{ 'a' < 'b' }}"),
            "TrueTrueTrueTrueTrue");
}

TEST(JinjaExpr, AttributeIndexAndSlice) {
  json ctx = DefaultContext();
  EXPECT_EQ(R("{{ messages[0].role }}{{ messages[0]['content'] }}{{ d.a }}{{ d['b'][1] }}{{ xs.0 }}", ctx), "userhi121");
  EXPECT_EQ(R("{{ xs[1:] }}{{ xs[::-1] }}{{ s[::-1] }}{{ s[-3:] }}{{ xs[-1] }}[{{ xs[5] }}]"),
            "[2, 3][3, 2, 1]dlroW olleHrld3[]");
  EXPECT_EQ(R("{{ 'abc'[1] }}{{ 'héllo'|length }}{{ 'héllo'[1:3] }}{{ 'ÉCOLE'|lower }}"), "b5élécole");
}

TEST(JinjaExpr, Tests) {
  EXPECT_EQ(R("{{ none is none }} {{ x is defined }} {{ xs is iterable }} {{ d is mapping }} {{ s is string }} "
              "{{ 3 is odd }} {{ 4 is divisibleby 2 }} {{ x is not defined }} {{ 1 is number }} {{ s is not none }}"),
            "True False True True True True True True True True");
  EXPECT_EQ(R("{{ 1 is integer }}{{ 1.0 is float }}{{ true is boolean }}{{ 'a' is lower }}{{ 2 is eq 2 }}{{ 3 is gt 2 }}"),
            "TrueTrueTrueTrueTrueTrue");
}

// ---- statements ----

TEST(JinjaStmt, ForLoopVariables) {
  EXPECT_EQ(R("{% for k, v in d.items() %}{{ loop.index }}{{ k }}={{ v }}{{ ',' if not loop.last }}{% endfor %}"),
            "1a=1,2b=[1, 2]");
  EXPECT_EQ(R("{% for x in xs if x > 1 %}{{ loop.index0 }}/{{ loop.length }}/{{ loop.revindex }}{% else %}none{% endfor %}"),
            "0/2/21/2/1");
  EXPECT_EQ(R("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(R("{% for x in xs %}{{ loop.first }}{{ loop.revindex0 }}{{ loop.cycle('a', 'b') }}{% endfor %}"),
            "True2aFalse1bFalse0a");
  EXPECT_EQ(R("{% for c in 'ab' %}{{ c }}.{% endfor %}{% for k in d %}{{ k }}{% endfor %}"), "a.b.ab");
}

TEST(JinjaStmt, LoopScopingAndNamespace) {
  // A set inside a loop body does not survive the iteration (Jinja2 scoping), hence namespace().
  EXPECT_EQ(R("{% set x = 0 %}{% for i in [1,2] %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}"), "01020");
  EXPECT_EQ(R("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"), "5");
  EXPECT_EQ(R("{% set ns = namespace(a=1, b='x') %}{% for x in xs %}{% set ns.a = ns.a + x %}{% endfor %}{{ ns.a }}{{ ns.b }}"),
            "7x");
}

TEST(JinjaStmt, BreakContinueMacroSetBlock) {
  EXPECT_EQ(R("{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
            "1");
  EXPECT_EQ(R("{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('Bob') }} {{ greet('Al', punct='?') }}"),
            "Hello Bob! Hello Al?");
  EXPECT_EQ(R("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t %}captured {{ xs|length }}{% endset %}[{{ t }}]"),
            "12[captured 3]");
  EXPECT_EQ(R("{% generation %}gen{% endgeneration %}"), "gen");
}

// ---- filters and methods ----

TEST(JinjaFilters, Strings) {
  EXPECT_EQ(R("{{ '  hi  '|trim }}|{{ s.upper() }}{{ s.lower() }}|{{ 'hello world-x(y'|title }}|{{ 'hELLO wORLD'|capitalize }}"),
            "hi|HELLO WORLDhello world|Hello World-X(Y|Hello world");
  EXPECT_EQ(R("{{ s|replace('o', '0', 1) }}|{{ s|upper }}|{{ 5|string ~ 'x' }}|{{ 'a\\nb'|indent(2) }}"),
            "Hell0 World|HELLO WORLD|5x|a\n  b");
}

TEST(JinjaFilters, Json) {
  EXPECT_EQ(R("{{ xs|tojson }}|{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ 'é\"\\n'|tojson }}|{{ [1.0, 2e20, none, true]|tojson }}"),
            "[1, 2, 3]|{\"a\": 1, \"b\": [1, 2]}|{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}|\"é\\\"\\n\"|[1.0, 2e+20, null, true]");
  EXPECT_EQ(R("{{ [[], {}]|tojson(indent=2) }}{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}{{ 'é'|tojson(ensure_ascii=true) }}"),
            "[\n  [],\n  {}\n]{\"a\": 2, \"b\": 1}\"\\u00e9\"");
}

TEST(JinjaFilters, Sequences) {
  EXPECT_EQ(R("{{ xs|length }} {{ s|length }} {{ d|length }} {{ xs|first }} {{ xs|last }} {{ xs|join('-') }} {{ xs|sum }} "
              "{{ xs|max }} {{ [3,1,2]|sort }} {{ ['b','A','a']|unique|list }} {{ xs|reverse|list }}"),
            "3 11 2 1 3 1-2-3 6 3 [1, 2, 3] ['b', 'A'] [3, 2, 1]");
  EXPECT_EQ(R("{{ [{'r':'u','c':1},{'r':'a','c':2},{'r':'u','c':3}]|selectattr('r','equalto','u')|map(attribute='c')|list }} "
              "{{ [{'r':'u'},{'r':'a'}]|rejectattr('r','eq','u')|list }} {{ ['a','b']|map('upper')|join }} "
              "{{ [1,2,3,4]|select('odd')|list }}"),
            "[1, 3] [{'r': 'a'}] AB [1, 3]");
  EXPECT_EQ(R("{{ d.keys()|list }} {{ d.values()|list }} {{ d|items|list }} {{ d.get('a') }}{{ d.get('zz', 5) }}{{ d.get('zz') }}"),
            "['a', 'b'] [1, [1, 2]] [('a', 1), ('b', [1, 2])] 15None");
}

TEST(JinjaFilters, DefaultsAndNumbers) {
  EXPECT_EQ(R("{{ undefined_var }}|{{ undefined_var|default('dflt') }}|{{ ''|default('e', true) }}|{{ '3'|int + 1 }}|"
              "{{ '4.7'|int }}|{{ 'x'|int(9) }}|{{ 3|float }}|{{ xs|string }}"),
            "|dflt|e|4|4|9|3.0|[1, 2, 3]");
  EXPECT_EQ(R("{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'xxhixx'.strip('x') }}|{{ s.startswith('Hell') }}"
              "{{ s.endswith(('x', 'ld')) }}"),
            "['a', 'b', '', 'c']|['a', 'b']|hi|TrueTrue");
}

TEST(JinjaGlobals, RaiseExceptionAndStrftime) {
  ExpectError("{{ raise_exception('Conversation roles must alternate') }}", Status::Code::kInvalidArgument,
              "Conversation roles must alternate");
  EXPECT_EQ(R("{{ strftime_now('%d %b %Y') }}"), "26 Jul 2024");
  RenderOptions later;
  later.now = std::chrono::sys_days{std::chrono::year{2025} / 1 / 2};
  EXPECT_EQ(R("{{ strftime_now('%Y-%m-%d %A') }}", DefaultContext(), later), "2025-01-02 Thursday");
  EXPECT_EQ(R("{{ range(3)|list }}{{ range(1, 7, 2)|join(',') }}{{ dict(a=1) }}"), "[0, 1, 2]1,3,5{'a': 1}");
}

// ---- undefined values ----

TEST(JinjaUndefined, PrintsEmptyIsFalsyAndFailsWhenUsed) {
  EXPECT_EQ(R("[{{ nope }}]{% if nope %}yes{% else %}no{% endif %}{% for x in nope %}x{% endfor %}{{ nope|length }}"), "[]no0");
  EXPECT_EQ(R("[{{ none.attr }}][{{ d.missing }}][{{ xs[10] }}]"), "[][][]");
  // Jinja2's default Undefined: looking inside an undefined value is an error, never a crash.
  ExpectError("{{ nope.attr }}", Status::Code::kInvalidArgument, "'nope' is undefined");
  ExpectError("{{ d.missing.x }}", Status::Code::kInvalidArgument, "'dict object' has no attribute 'missing'");
  ExpectError("{{ nope + 1 }}", Status::Code::kInvalidArgument, "'nope' is undefined");
  ExpectError("{{ 'a' + 1 }}", Status::Code::kInvalidArgument, "unsupported operand");
}

// ---- unsupported constructs: Unimplemented naming the construct and its line ----

TEST(JinjaUnsupported, TagsFiltersTestsMethods) {
  ExpectError("line1\n{% include 'x.jinja' %}", Status::Code::kUnimplemented, "line 2: unsupported tag 'include'");
  ExpectError("{% extends 'base' %}", Status::Code::kUnimplemented, "'extends'");
  ExpectError("\n\n{{ x|wordwrap(3) }}", Status::Code::kUnimplemented, "line 3: unsupported filter 'wordwrap'");
  ExpectError("{% if x is escaped %}{% endif %}", Status::Code::kUnimplemented, "unsupported test 'escaped'");
  ExpectError("{{ 'a {}'.format(1) }}", Status::Code::kUnimplemented, "unsupported method 'str.format'");
  ExpectError("{{ xs.append(4) }}", Status::Code::kUnimplemented, "unsupported method 'list.append'");
  ExpectError("{{ d.update({}) }}", Status::Code::kUnimplemented, "unsupported method 'dict.update'");
  ExpectError("{{ '%s' % 1 }}", Status::Code::kUnimplemented, "formatting");
  ExpectError("{% for x in xs recursive %}{% endfor %}", Status::Code::kUnimplemented, "recursive");
}

// ---- syntax errors and hostile templates: errors, never crashes or hangs ----

TEST(JinjaHostile, UnterminatedConstructs) {
  ExpectError("{% if true %}never closed", Status::Code::kInvalidArgument, "unterminated 'if'");
  ExpectError("{% for x in xs %}{% if x %}{% endfor %}", Status::Code::kInvalidArgument, "unexpected tag 'endfor'");
  ExpectError("{% endif %}", Status::Code::kInvalidArgument, "unexpected tag 'endif'");
  ExpectError("{{ x ", Status::Code::kInvalidArgument, "unterminated '{{'");
  ExpectError("{% if x ", Status::Code::kInvalidArgument, "unterminated '{%'");
  ExpectError("{# comment", Status::Code::kInvalidArgument, "missing end of comment");
  ExpectError("{{ 'abc }}", Status::Code::kInvalidArgument, "unterminated string");
  ExpectError("{% raw %}abc", Status::Code::kInvalidArgument, "endraw");
  ExpectError("{{ (1 }}", Status::Code::kInvalidArgument, "line 1");
  ExpectError("{{ 1 ) }}", Status::Code::kInvalidArgument, "unexpected ')'");
  ExpectError("{% break %}", Status::Code::kInvalidArgument, "outside of a for loop");
  ExpectError("{{ }}", Status::Code::kInvalidArgument, "expected an expression");
  ExpectError("{{ x @ y }}", Status::Code::kInvalidArgument, "unexpected character '@'");
  ExpectError("{% set %}", Status::Code::kInvalidArgument, "expected a name");
}

TEST(JinjaHostile, DeepNestingIsRefused) {
  EXPECT_EQ(R(std::string(1000, '(')), std::string(1000, '('));  // outside tags it is just text
  ExpectError("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}", Status::Code::kInvalidArgument,
              "nested deeper");
  std::string ifs;
  for (int i = 0; i < 50000; ++i) ifs += "{% if true %}";
  ExpectError(ifs, Status::Code::kInvalidArgument, "nested deeper");
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  ExpectError(chain + " }}", Status::Code::kInvalidArgument, "nested deeper");
  std::string filters = "{{ 'x'";
  for (int i = 0; i < 100000; ++i) filters += "|trim";
  ExpectError(filters + " }}", Status::Code::kInvalidArgument, "nested deeper");
  std::string nots = "{{ ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  ExpectError(nots + "1 }}", Status::Code::kInvalidArgument, "nested deeper");
}

TEST(JinjaHostile, RuntimeBounds) {
  ExpectError("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", Status::Code::kInvalidArgument, "recursion");
  ExpectError("{% for i in range(1000000000) %}{% endfor %}", Status::Code::kInvalidArgument, "range()");
  ExpectError("{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}",
              Status::Code::kInvalidArgument, "evaluation steps");
  ExpectError("{% for i in range(1000000) %}{{ 'x' * 100 }}{% endfor %}",
              Status::Code::kInvalidArgument, "output exceeds");
  ExpectError("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
              Status::Code::kInvalidArgument, "exceeds");
  ExpectError("{{ 'a' * 10000000000 }}", Status::Code::kInvalidArgument, "exceeds");
  ExpectError("{{ [1] * 10000000000 }}", Status::Code::kInvalidArgument, "exceeds");
  ExpectError("{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}",
              Status::Code::kInvalidArgument, "nested");
  // Found by the chat_template fuzzer: a namespace holding itself (through a tuple) overflowed the
  // stack when printed. Cycles are refused when assigned, also through another namespace.
  ExpectError("{% set ns = namespace(a=0) %}{% set ns.a = ns, 1 %}{{ ns.a }}", Status::Code::kInvalidArgument, "contains 'ns' itself");
  ExpectError("{% set ns = namespace(a=0) %}{% set m = namespace(b=[ns]) %}{% set ns.a = {'k': m} %}{{ ns }}",
              Status::Code::kInvalidArgument, "contains 'ns' itself");
  // Namespaces filled after the containers that hold them were built still count toward the depth.
  ExpectError("{% set n = namespace(a=0) %}{% set l = [n] %}{% set d = namespace(x=[]) %}"
              "{% for i in range(126) %}{% set d.x = [d.x] %}{% endfor %}{% set n.a = d.x %}"
              "{% set m = namespace(a=0) %}{% set m.a = [[l]] %}",
              Status::Code::kInvalidArgument, "nested too deeply");
  EXPECT_EQ(R("{% set ns = namespace(a=0) %}{% set m = namespace(b=1) %}{% set ns.a = [m, m] %}{{ ns.a|length }}"), "2");
  ExpectError("{{ 9223372036854775807 + 1 }}", Status::Code::kInvalidArgument, "overflow");
  ExpectError("{{ 1 // 0 }}", Status::Code::kInvalidArgument, "division");
  RenderOptions small;
  small.max_output_bytes = 10;
  ExpectError("{{ 'x' * 5 }}{{ 'y' * 6 }}", Status::Code::kInvalidArgument, "output exceeds 10 bytes", DefaultContext(), small);
}

TEST(JinjaHostile, DeepOrBadContext) {
  json deep = json::array();
  for (int i = 0; i < 1000; ++i) deep = json::array({deep});
  ExpectError("{{ v }}", Status::Code::kInvalidArgument, "nested deeper", json{{"v", deep}});
  ExpectError("{{ v }}", Status::Code::kInvalidArgument, "must be a JSON object", json::array({1}));
  // Invalid UTF-8 in content is carried through, never fatal.
  EXPECT_EQ(R("{{ v|length }}{{ v|upper }}", json{{"v", std::string("a\xff")}}), "2A\xef\xbf\xbd");
}

TEST(Jinja, ParsedTemplateIsMovableAndThreadSafe) {
  auto t = Template::Parse("{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Template moved = std::move(t).value();
  std::vector<std::thread> threads;
  std::vector<std::string> outs(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      json ctx{{"messages", json::array({{{"role", "user"}, {"content", std::to_string(i)}}})}};
      for (int k = 0; k < 200; ++k) {
        auto r = moved.Render(ctx);
        outs[static_cast<size_t>(i)] = r.ok() ? *r : r.status().ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(outs[static_cast<size_t>(i)], "user:" + std::to_string(i) + ";");
}

}  // namespace
}  // namespace tenet::jinja
