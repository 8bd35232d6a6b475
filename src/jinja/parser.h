// Parser of the chat-template Jinja engine: tokens (lexer.h) to a syntax tree
// (ast.h), following Jinja2's grammar and operator precedence:
//   a if c else b  <  or  <  and  <  not  <  comparisons / in / not in  <  + -  <  ~
//   <  * / // %  <  **  <  unary - +  <  postfix . [] ()  <  | filter, is test.
//
// Supported tags: if/elif/else, for (with `if` filter, `else`, tuple targets), set (names,
// tuples, `ns.attr`, block form), macro, break/continue, raw, and transformers' generation.
// Other tags, unknown filters and unknown tests are Unimplemented errors naming the construct and
// the line, like Jinja2's compile-time checks; syntax errors are InvalidArgument.
//
// Nesting is bounded (kMaxParseDepth) so hostile templates cannot exhaust the stack.
#pragma once

#include <string_view>

#include "ast.h"
#include "tenet/util/status.h"

namespace tenet::jinja {

constexpr int kMaxParseDepth = 200;

Result<Body> ParseTemplate(std::string_view source);

}  // namespace tenet::jinja
