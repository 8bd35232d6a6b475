// Private to src/eval (the report of tenet/eval/report.h): the report's blocks of model and user
// text. Sentence splitting and the "same sentence" key; marking the sentences of one answer that
// another answer lacks (<mark class="new">); clamping long text to a few lines behind a <details>
// toggle. Their styling lives in the style sheet (report_style.h), by class name.
//
// Not here: which answers are compared with which (the sections, report.cpp).
//
// Thread-safety: pure functions writing to the caller's Writer.
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

#include "tenet/eval/html.h"

namespace tenet::eval::report_detail {

// The normalized sentences of `text` (whitespace runs to one space, ASCII lower case): the `known`
// set for WriteText. A sentence ends after . ! or ? (with any closing quotes or brackets) followed
// by whitespace, or at a line break.
std::unordered_set<std::string> SentenceSet(std::string_view text);

// A block of model or user text (pre-wrapped); `empty_label` when `text` is empty. Long text is
// clamped to a few lines, with a <details> toggle before it in the markup (shown after it by CSS
// order) that lifts the clamp: no script, and print CSS shows the whole text. With a non-empty
// `known`, each sentence not in it is inside <mark class="new">, unless no sentence is shared.
void WriteText(html::Writer& w, std::string_view text, const char* empty_label,
               const std::unordered_set<std::string>* known = nullptr);

}  // namespace tenet::eval::report_detail
