// Recursive-descent parser for the Jinja subset. See parser.h.
#include "parser.h"

#include <set>

#include "builtins.h"
#include "lexer.h"
#include "text.h"

namespace tenet::jinja {

namespace {

std::string Describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kData: return "template data";
    case TokenKind::kVarBegin: return "'{{'";
    case TokenKind::kVarEnd: return "'}}'";
    case TokenKind::kBlockBegin: return "'{%'";
    case TokenKind::kBlockEnd: return "'%}'";
    case TokenKind::kName: return Quoted(t.text, "'");
    case TokenKind::kString: return "string literal";
    case TokenKind::kInt:
    case TokenKind::kFloat: return "number " + t.text;
    case TokenKind::kOp: return Quoted(t.text, "'");
    case TokenKind::kEof: return "end of template";
  }
  return "token";
}

// Tags that only close or continue a block; meeting one where none is open is a syntax error
// rather than an unsupported construct.
const std::set<std::string>& ClosingTags() {
  static const std::set<std::string> k = {"endif", "elif", "else", "endfor", "endset", "endmacro", "endgeneration",
                                          "endraw"};
  return k;
}

bool MentionsName(const Body& body, const std::string& name);

// Whether `name` appears as a variable anywhere in the expression.
bool MentionsName(const Expr* e, const std::string& name) {
  if (e == nullptr) return false;
  if (e->kind == Expr::Kind::kName && e->name == name) return true;
  for (const ExprPtr& a : e->args)
    if (MentionsName(a.get(), name)) return true;
  for (const auto& [k, v] : e->kwargs)
    if (MentionsName(v.get(), name)) return true;
  for (const auto& [k, v] : e->dict_items)
    if (MentionsName(k.get(), name) || MentionsName(v.get(), name)) return true;
  return false;
}

bool MentionsName(const Body& body, const std::string& name) {
  for (const StmtPtr& s : body) {
    if (MentionsName(s->expr.get(), name) || MentionsName(s->filter.get(), name)) return true;
    for (const IfBranch& b : s->branches)
      if (MentionsName(b.condition.get(), name) || MentionsName(b.body, name)) return true;
    for (const MacroParam& p : s->params)
      if (MentionsName(p.default_value.get(), name)) return true;
    if (MentionsName(s->body, name) || MentionsName(s->else_body, name)) return true;
  }
  return false;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<Body> ParseAll() {
    TENET_ASSIGN_OR_RETURN(Body body, ParseBody({}, "", 0));
    if (Cur().kind != TokenKind::kEof) return Status::Internal(Where(Cur().line), "parser stopped early");
    return body;
  }

 private:
  // Guards recursion: every nested block and expression level holds one.
  class DepthGuard {
   public:
    explicit DepthGuard(Parser* p) : p_(p) { ++p_->depth_; }
    ~DepthGuard() { --p_->depth_; }
    bool exceeded() const { return p_->depth_ > kMaxParseDepth; }

   private:
    Parser* p_;
  };

  Status TooDeep() const {
    return Status::InvalidArgument(Where(Cur().line),
                                   "template nested deeper than " + std::to_string(kMaxParseDepth) + " levels");
  }

  const Token& Cur() const { return tokens_[pos_]; }
  const Token& Peek(size_t k = 1) const { return tokens_[std::min(pos_ + k, tokens_.size() - 1)]; }
  void Next() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool IsOp(const char* op) const { return Cur().kind == TokenKind::kOp && Cur().text == op; }
  bool IsName(const char* name) const { return Cur().kind == TokenKind::kName && Cur().text == name; }
  bool SkipOp(const char* op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(const char* name) {
    if (!IsName(name)) return false;
    Next();
    return true;
  }
  Status Unexpected(const std::string& expected) const {
    return Status::InvalidArgument(Where(Cur().line), "expected " + expected + ", got " + Describe(Cur()));
  }
  Status ExpectOp(const char* op) {
    if (!SkipOp(op)) return Unexpected(std::string("'") + op + "'");
    return Status::OK();
  }
  Result<std::string> ExpectName() {
    if (Cur().kind != TokenKind::kName) return Unexpected("a name");
    std::string n = Cur().text;
    Next();
    return n;
  }
  Status ExpectBlockEnd() {
    if (Cur().kind != TokenKind::kBlockEnd) return Unexpected("'%}'");
    Next();
    return Status::OK();
  }

  // Parses statements until `{% <one of end_tags>` (left unconsumed) or the end of input, which is
  // an error when end tags were expected (an unterminated block).
  Result<Body> ParseBody(const std::set<std::string>& end_tags, const std::string& opener, int open_line) {
    Body body;
    while (true) {
      const Token& t = Cur();
      if (t.kind == TokenKind::kEof) {
        if (end_tags.empty()) return body;
        return Status::InvalidArgument(Where(open_line), "unterminated '" + opener + "' block (expected {% end" +
                                                             opener + " %} before the end of the template)");
      }
      if (t.kind == TokenKind::kData) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kData;
        s->line = t.line;
        s->text = t.text;
        body.push_back(std::move(s));
        Next();
        continue;
      }
      if (t.kind == TokenKind::kVarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kPrint;
        s->line = t.line;
        Next();
        TENET_ASSIGN_OR_RETURN(s->expr, ParseTuple(true));
        if (Cur().kind != TokenKind::kVarEnd) return Unexpected("'}}'");
        Next();
        body.push_back(std::move(s));
        continue;
      }
      if (t.kind != TokenKind::kBlockBegin) return Unexpected("template data or a tag");
      const Token& name = Peek();
      if (name.kind != TokenKind::kName) {
        Next();
        return Unexpected("a tag name");
      }
      if (end_tags.count(name.text)) return body;
      Next();
      TENET_ASSIGN_OR_RETURN(StmtPtr s, ParseStatement());
      body.push_back(std::move(s));
    }
  }

  // After `{%`, at the tag name.
  Result<StmtPtr> ParseStatement() {
    DepthGuard guard(this);
    if (guard.exceeded()) return TooDeep();
    const std::string tag = Cur().text;
    const int line = Cur().line;
    Next();
    auto s = std::make_unique<Stmt>();
    s->line = line;
    if (tag == "if") {
      s->kind = Stmt::Kind::kIf;
      while (true) {
        IfBranch branch;
        TENET_ASSIGN_OR_RETURN(branch.condition, ParseTuple(false));
        TENET_RETURN_IF_ERROR(ExpectBlockEnd());
        TENET_ASSIGN_OR_RETURN(branch.body, ParseBody({"elif", "else", "endif"}, "if", line));
        s->branches.push_back(std::move(branch));
        Next();  // `{%` -> tag name
        std::string closer = Cur().text;
        Next();
        if (closer == "elif") continue;
        if (closer == "else") {
          TENET_RETURN_IF_ERROR(ExpectBlockEnd());
          TENET_ASSIGN_OR_RETURN(s->else_body, ParseBody({"endif"}, "if", line));
          Next();
          Next();
        }
        break;
      }
      TENET_RETURN_IF_ERROR(ExpectBlockEnd());
      return s;
    }
    if (tag == "for") {
      s->kind = Stmt::Kind::kFor;
      bool parens = SkipOp("(");
      do {
        TENET_ASSIGN_OR_RETURN(std::string target, ExpectName());
        s->targets.push_back(std::move(target));
      } while (SkipOp(","));
      if (parens) TENET_RETURN_IF_ERROR(ExpectOp(")"));
      if (!SkipName("in")) return Unexpected("'in'");
      TENET_ASSIGN_OR_RETURN(s->expr, ParseTuple(false));
      if (SkipName("if")) {
        TENET_ASSIGN_OR_RETURN(s->filter, ParseExpression(true));
      }
      if (IsName("recursive")) return Status::Unimplemented(Where(Cur().line), "recursive for loops");
      TENET_RETURN_IF_ERROR(ExpectBlockEnd());
      ++loop_depth_;
      TENET_ASSIGN_OR_RETURN(s->body, ParseBody({"else", "endfor"}, "for", line));
      --loop_depth_;
      Next();
      std::string closer = Cur().text;
      Next();
      if (closer == "else") {
        TENET_RETURN_IF_ERROR(ExpectBlockEnd());
        TENET_ASSIGN_OR_RETURN(s->else_body, ParseBody({"endfor"}, "for", line));
        Next();
        Next();
      }
      TENET_RETURN_IF_ERROR(ExpectBlockEnd());
      // Building the loop object costs more than a bare iteration; skip it when unused.
      s->uses_loop = MentionsName(s->body, "loop") || MentionsName(s->filter.get(), "loop");
      return s;
    }
    if (tag == "set") {
      TENET_ASSIGN_OR_RETURN(std::string first, ExpectName());
      s->targets.push_back(first);
      if (SkipOp(".")) {
        TENET_ASSIGN_OR_RETURN(s->attr, ExpectName());
      } else {
        while (SkipOp(",")) {
          TENET_ASSIGN_OR_RETURN(std::string more, ExpectName());
          s->targets.push_back(std::move(more));
        }
      }
      if (Cur().kind == TokenKind::kBlockEnd && s->attr.empty() && s->targets.size() == 1) {
        Next();
        s->kind = Stmt::Kind::kSetBlock;
        s->text = first;
        TENET_ASSIGN_OR_RETURN(s->body, ParseBody({"endset"}, "set", line));
        Next();
        Next();
        TENET_RETURN_IF_ERROR(ExpectBlockEnd());
        return s;
      }
      s->kind = Stmt::Kind::kSet;
      TENET_RETURN_IF_ERROR(ExpectOp("="));
      TENET_ASSIGN_OR_RETURN(s->expr, ParseTuple(true));
      TENET_RETURN_IF_ERROR(ExpectBlockEnd());
      return s;
    }
    if (tag == "macro") {
      s->kind = Stmt::Kind::kMacro;
      TENET_ASSIGN_OR_RETURN(s->text, ExpectName());
      TENET_RETURN_IF_ERROR(ExpectOp("("));
      while (!IsOp(")")) {
        if (!s->params.empty()) TENET_RETURN_IF_ERROR(ExpectOp(","));
        if (IsOp(")")) break;
        MacroParam p;
        TENET_ASSIGN_OR_RETURN(p.name, ExpectName());
        if (SkipOp("=")) {
          TENET_ASSIGN_OR_RETURN(p.default_value, ParseExpression(true));
        }
        s->params.push_back(std::move(p));
      }
      Next();
      TENET_RETURN_IF_ERROR(ExpectBlockEnd());
      int saved_loops = loop_depth_;
      loop_depth_ = 0;  // break/continue cannot cross a macro boundary
      TENET_ASSIGN_OR_RETURN(s->body, ParseBody({"endmacro"}, "macro", line));
      loop_depth_ = saved_loops;
      Next();
      Next();
      if (Cur().kind == TokenKind::kName) Next();  // `{% endmacro name %}`
      TENET_RETURN_IF_ERROR(ExpectBlockEnd());
      return s;
    }
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) return Status::InvalidArgument(Where(line), Quoted(tag, "' outside of a for loop"));
      s->kind = tag == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      TENET_RETURN_IF_ERROR(ExpectBlockEnd());
      return s;
    }
    if (tag == "generation") {
      s->kind = Stmt::Kind::kGeneration;
      TENET_RETURN_IF_ERROR(ExpectBlockEnd());
      TENET_ASSIGN_OR_RETURN(s->body, ParseBody({"endgeneration"}, "generation", line));
      Next();
      Next();
      TENET_RETURN_IF_ERROR(ExpectBlockEnd());
      return s;
    }
    if (ClosingTags().count(tag)) return Status::InvalidArgument(Where(line), "unexpected tag '" + tag + "'");
    return Status::Unimplemented(Where(line), "unsupported tag '" + tag + "'");
  }

  // Comma-separated expressions; more than one (or a trailing comma) makes a tuple.
  Result<ExprPtr> ParseTuple(bool with_condexpr) {
    const int line = Cur().line;
    TENET_ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(with_condexpr));
    if (!IsOp(",")) return first;
    auto tuple = MakeExpr(Expr::Kind::kTuple, line);
    tuple->args.push_back(std::move(first));
    while (SkipOp(",")) {
      if (Cur().kind == TokenKind::kVarEnd || Cur().kind == TokenKind::kBlockEnd || IsOp(")")) break;
      TENET_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(with_condexpr));
      tuple->args.push_back(std::move(e));
    }
    return tuple;
  }

  static ExprPtr MakeExpr(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  Result<ExprPtr> ParseExpression(bool with_condexpr) {
    DepthGuard guard(this);
    if (guard.exceeded()) return TooDeep();
    TENET_ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
    if (!with_condexpr) return expr;
    for (int chain = 0; IsName("if"); ++chain) {
      if (chain >= kMaxParseDepth) return TooDeep();
      const int line = Cur().line;
      Next();
      auto cond = MakeExpr(Expr::Kind::kCondition, line);
      TENET_ASSIGN_OR_RETURN(ExprPtr test, ParseOr());
      ExprPtr otherwise;
      if (SkipName("else")) {
        TENET_ASSIGN_OR_RETURN(otherwise, ParseExpression(true));
      }
      cond->args.push_back(std::move(expr));
      cond->args.push_back(std::move(test));
      cond->args.push_back(std::move(otherwise));
      expr = std::move(cond);
    }
    return expr;
  }

  Result<ExprPtr> ParseOr() {
    TENET_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    for (int chain = 0; IsName("or"); ++chain) {
      if (chain >= kMaxParseDepth) return TooDeep();
      auto e = MakeExpr(Expr::Kind::kOr, Cur().line);
      Next();
      TENET_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      e->args.push_back(std::move(left));
      e->args.push_back(std::move(right));
      left = std::move(e);
    }
    return left;
  }

  Result<ExprPtr> ParseAnd() {
    TENET_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    for (int chain = 0; IsName("and"); ++chain) {
      if (chain >= kMaxParseDepth) return TooDeep();
      auto e = MakeExpr(Expr::Kind::kAnd, Cur().line);
      Next();
      TENET_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      e->args.push_back(std::move(left));
      e->args.push_back(std::move(right));
      left = std::move(e);
    }
    return left;
  }

  Result<ExprPtr> ParseNot() {
    if (IsName("not")) {
      DepthGuard guard(this);
      if (guard.exceeded()) return TooDeep();
      auto e = MakeExpr(Expr::Kind::kUnary, Cur().line);
      e->name = "not";
      Next();
      TENET_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
      e->args.push_back(std::move(operand));
      return e;
    }
    return ParseCompare();
  }

  Result<ExprPtr> ParseCompare() {
    const int line = Cur().line;
    TENET_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
    ExprPtr cmp;
    for (int chain = 0;; ++chain) {
      if (chain > kMaxParseDepth) return TooDeep();
      std::string op;
      if (Cur().kind == TokenKind::kOp &&
          (Cur().text == "==" || Cur().text == "!=" || Cur().text == "<" || Cur().text == "<=" || Cur().text == ">" ||
           Cur().text == ">=")) {
        op = Cur().text;
        Next();
      } else if (IsName("in")) {
        op = "in";
        Next();
      } else if (IsName("not") && Peek().kind == TokenKind::kName && Peek().text == "in") {
        op = "not in";
        Next();
        Next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = MakeExpr(Expr::Kind::kCompare, line);
        cmp->args.push_back(std::move(first));
      }
      TENET_ASSIGN_OR_RETURN(ExprPtr right, ParseMath1());
      cmp->ops.push_back(op);
      cmp->args.push_back(std::move(right));
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  // Left-associative binary levels share one helper.
  template <typename NextLevel>
  Result<ExprPtr> ParseBinary(std::initializer_list<const char*> ops, NextLevel next_level) {
    TENET_ASSIGN_OR_RETURN(ExprPtr left, next_level());
    for (int chain = 0;; ++chain) {
      if (chain > kMaxParseDepth) return TooDeep();
      const char* matched = nullptr;
      for (const char* op : ops)
        if (IsOp(op)) matched = op;
      if (matched == nullptr) return left;
      auto e = MakeExpr(Expr::Kind::kBinary, Cur().line);
      e->name = matched;
      Next();
      TENET_ASSIGN_OR_RETURN(ExprPtr right, next_level());
      e->args.push_back(std::move(left));
      e->args.push_back(std::move(right));
      left = std::move(e);
    }
  }

  Result<ExprPtr> ParseMath1() {
    return ParseBinary({"+", "-"}, [this] { return ParseConcat(); });
  }
  Result<ExprPtr> ParseConcat() {
    return ParseBinary({"~"}, [this] { return ParseMath2(); });
  }
  Result<ExprPtr> ParseMath2() {
    return ParseBinary({"*", "/", "//", "%"}, [this] { return ParsePow(); });
  }
  Result<ExprPtr> ParsePow() {
    return ParseBinary({"**"}, [this] { return ParseUnary(true); });
  }

  Result<ExprPtr> ParseUnary(bool with_filter) {
    DepthGuard guard(this);
    if (guard.exceeded()) return TooDeep();
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      node = MakeExpr(Expr::Kind::kUnary, Cur().line);
      node->name = Cur().text;
      Next();
      TENET_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
      node->args.push_back(std::move(operand));
    } else {
      TENET_ASSIGN_OR_RETURN(node, ParsePrimary());
    }
    TENET_ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
    if (with_filter) {
      TENET_ASSIGN_OR_RETURN(node, ParseFilterExpr(std::move(node)));
    }
    return node;
  }

  Result<ExprPtr> ParsePrimary() {
    const Token& t = Cur();
    const int line = t.line;
    if (t.kind == TokenKind::kName) {
      auto e = MakeExpr(Expr::Kind::kLiteral, line);
      if (t.text == "true" || t.text == "True") e->value = Value::Bool(true);
      else if (t.text == "false" || t.text == "False") e->value = Value::Bool(false);
      else if (t.text == "none" || t.text == "None") e->value = Value::None();
      else {
        e->kind = Expr::Kind::kName;
        e->name = t.text;
      }
      Next();
      return e;
    }
    if (t.kind == TokenKind::kString) {
      std::string s;
      while (Cur().kind == TokenKind::kString) {  // adjacent literals concatenate
        s += Cur().text;
        Next();
      }
      auto e = MakeExpr(Expr::Kind::kLiteral, line);
      e->value = Value::String(std::move(s));
      return e;
    }
    if (t.kind == TokenKind::kInt || t.kind == TokenKind::kFloat) {
      auto e = MakeExpr(Expr::Kind::kLiteral, line);
      e->value = t.kind == TokenKind::kInt ? Value::Int(t.int_value) : Value::Float(t.float_value);
      Next();
      return e;
    }
    if (SkipOp("(")) {
      if (SkipOp(")")) {
        auto e = MakeExpr(Expr::Kind::kTuple, line);
        return e;
      }
      TENET_ASSIGN_OR_RETURN(ExprPtr e, ParseTuple(true));
      TENET_RETURN_IF_ERROR(ExpectOp(")"));
      return e;
    }
    if (SkipOp("[")) {
      auto e = MakeExpr(Expr::Kind::kList, line);
      while (!IsOp("]")) {
        if (!e->args.empty()) TENET_RETURN_IF_ERROR(ExpectOp(","));
        if (IsOp("]")) break;
        TENET_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
        e->args.push_back(std::move(item));
      }
      Next();
      return e;
    }
    if (SkipOp("{")) {
      auto e = MakeExpr(Expr::Kind::kDict, line);
      while (!IsOp("}")) {
        if (!e->dict_items.empty()) TENET_RETURN_IF_ERROR(ExpectOp(","));
        if (IsOp("}")) break;
        TENET_ASSIGN_OR_RETURN(ExprPtr key, ParseExpression(true));
        TENET_RETURN_IF_ERROR(ExpectOp(":"));
        TENET_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
        e->dict_items.emplace_back(std::move(key), std::move(value));
      }
      Next();
      return e;
    }
    return Unexpected("an expression");
  }

  Result<ExprPtr> ParsePostfix(ExprPtr node) {
    for (int chain = 0;; ++chain) {
      if (chain > kMaxParseDepth) return TooDeep();
      const int line = Cur().line;
      if (SkipOp(".")) {
        if (Cur().kind == TokenKind::kInt) {
          auto e = MakeExpr(Expr::Kind::kGetItem, line);
          auto index = MakeExpr(Expr::Kind::kLiteral, line);
          index->value = Value::Int(Cur().int_value);
          Next();
          e->args.push_back(std::move(node));
          e->args.push_back(std::move(index));
          node = std::move(e);
          continue;
        }
        auto e = MakeExpr(Expr::Kind::kGetAttr, line);
        TENET_ASSIGN_OR_RETURN(e->name, ExpectName());
        e->args.push_back(std::move(node));
        node = std::move(e);
      } else if (SkipOp("[")) {
        TENET_ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node), line));
      } else if (IsOp("(")) {
        TENET_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
      } else {
        return node;
      }
    }
  }

  // After `[`: an index or a slice `a:b:c` with any part omitted.
  Result<ExprPtr> ParseSubscript(ExprPtr node, int line) {
    ExprPtr parts[3];
    int part = 0;
    bool is_slice = false;
    while (!IsOp("]")) {
      if (SkipOp(":")) {
        is_slice = true;
        if (++part > 2) return Unexpected("']'");
        continue;
      }
      if (parts[part]) return Unexpected("':' or ']'");
      TENET_ASSIGN_OR_RETURN(parts[part], ParseExpression(true));
    }
    Next();
    if (!is_slice) {
      if (!parts[0]) return Status::InvalidArgument(Where(line), "empty subscript");
      auto e = MakeExpr(Expr::Kind::kGetItem, line);
      e->args.push_back(std::move(node));
      e->args.push_back(std::move(parts[0]));
      return e;
    }
    auto e = MakeExpr(Expr::Kind::kSlice, line);
    e->args.push_back(std::move(node));
    for (auto& p : parts) e->args.push_back(std::move(p));
    return e;
  }

  // At `(`: call arguments into e->args (after any already there) and e->kwargs.
  Status ParseArgs(Expr* e) {
    TENET_RETURN_IF_ERROR(ExpectOp("("));
    bool first = true;
    while (!IsOp(")")) {
      if (!first) TENET_RETURN_IF_ERROR(ExpectOp(","));
      first = false;
      if (IsOp(")")) break;
      if (IsOp("*") || IsOp("**")) return Status::Unimplemented(Where(Cur().line), "*args/**kwargs in calls");
      if (Cur().kind == TokenKind::kName && Peek().kind == TokenKind::kOp && Peek().text == "=") {
        std::string key = Cur().text;
        Next();
        Next();
        TENET_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
        e->kwargs.emplace_back(std::move(key), std::move(value));
      } else {
        if (!e->kwargs.empty()) return Status::InvalidArgument(Where(Cur().line), "positional argument follows keyword argument");
        TENET_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
        e->args.push_back(std::move(value));
      }
    }
    Next();
    return Status::OK();
  }

  Result<ExprPtr> ParseCall(ExprPtr callee) {
    auto e = MakeExpr(Expr::Kind::kCall, Cur().line);
    e->args.push_back(std::move(callee));
    TENET_RETURN_IF_ERROR(ParseArgs(e.get()));
    return e;
  }

  Result<ExprPtr> ParseFilterExpr(ExprPtr node) {
    for (int chain = 0;; ++chain) {
      if (chain > kMaxParseDepth) return TooDeep();
      const int line = Cur().line;
      if (SkipOp("|")) {
        auto e = MakeExpr(Expr::Kind::kFilter, line);
        TENET_ASSIGN_OR_RETURN(e->name, ExpectName());
        while (SkipOp(".")) {
          TENET_ASSIGN_OR_RETURN(std::string more, ExpectName());
          e->name += "." + more;
        }
        if (!IsKnownFilter(e->name)) return Status::Unimplemented(Where(line), "unsupported filter '" + e->name + "'");
        e->args.push_back(std::move(node));
        if (IsOp("(")) TENET_RETURN_IF_ERROR(ParseArgs(e.get()));
        node = std::move(e);
      } else if (IsName("is")) {
        Next();
        auto e = MakeExpr(Expr::Kind::kTest, line);
        e->negated = SkipName("not");
        if (Cur().kind != TokenKind::kName) return Unexpected("a test name");
        e->name = Cur().text;
        Next();
        if (!IsKnownTest(e->name)) return Status::Unimplemented(Where(line), "unsupported test '" + e->name + "'");
        e->args.push_back(std::move(node));
        if (IsOp("(")) {
          TENET_RETURN_IF_ERROR(ParseArgs(e.get()));
        } else if ((Cur().kind == TokenKind::kName && !IsName("else") && !IsName("or") && !IsName("and")) ||
                   Cur().kind == TokenKind::kString || Cur().kind == TokenKind::kInt ||
                   Cur().kind == TokenKind::kFloat || IsOp("[") || IsOp("{")) {
          // Jinja2 accepts one bare argument: `x is divisibleby 3`, `x is sameas none`.
          if (IsName("is")) return Status::InvalidArgument(Where(line), "cannot chain multiple tests with 'is'");
          TENET_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
          TENET_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
          e->args.push_back(std::move(arg));
        }
        node = std::move(e);
      } else if (IsOp("(")) {
        TENET_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
      } else {
        return node;
      }
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Result<Body> ParseTemplate(std::string_view source) {
  TENET_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(source));
  return Parser(std::move(tokens)).ParseAll();
}

}  // namespace tenet::jinja
