// Lexer of the chat-template Jinja engine: splits template source into data, tag delimiters and
// expression tokens, applying whitespace control exactly as Jinja2's lexer does with Hugging
// Face's settings (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False):
//   - `{%-` / `-%}` (and the `{{` `{#` forms) strip all whitespace on that side;
//   - `{%+` / `+%}` disable lstrip_blocks / trim_blocks for that tag;
//   - trim_blocks drops the first newline after `%}` and `#}` (not after `}}`);
//   - lstrip_blocks drops spaces/tabs between a line start and `{%` or `{#`;
//   - newlines are normalized to \n and one trailing newline of the source is dropped.
// `{% raw %}...{% endraw %}` is handled here and comes out as data.
//
// Not for: parsing; see parser.h. Line statements and custom delimiters are not supported.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tenet/util/status.h"

namespace tenet::jinja {

enum class TokenKind { kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
  TokenKind kind = TokenKind::kEof;
  std::string text;  // data, name, unescaped string value, operator, or number spelling
  int line = 1;      // 1-based line in the source
  int64_t int_value = 0;
  double float_value = 0.0;
};

// InvalidArgument (naming the line) for unterminated tags, comments or strings, unbalanced
// brackets and characters that cannot start a token. The last token is always kEof.
Result<std::vector<Token>> Lex(std::string_view source);

}  // namespace tenet::jinja
