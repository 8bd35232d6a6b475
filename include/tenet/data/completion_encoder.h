// Prompt/completion tokenization, TRL's rule (../shared/ARCHITECTURE.md), shared by scoring,
// DPO and SFT so that every place counts the same tokens:
//   chat records:  prompt = chat template rendered with add_generation_prompt=true, tokenized with
//                  special tokens recognised and no extra BOS (the template holds it);
//                  completion = the assistant content tokenized on its own + the end-of-turn token.
//   text records:  prompt = BOS (when the tokenizer config adds it) + prompt;
//                  completion = completion + EOS.
// The end-of-turn token is read off the template itself (the first special token it emits after
// an assistant message: <|eot_id|> for Llama 3, <|im_end|> for ChatML, </s> for Mistral), falling
// back to EOS. Completion text is untrusted model output: special-token text inside it (e.g.
// "<|eot_id|>") is encoded as plain text, never as a control token.
//
// Thread-safety: immutable after Create; Encode* may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/jinja/template.h"
#include "tenet/tokenizer/tokenizer.h"

namespace tenet {

struct PromptCompletionIds {
  std::vector<int32_t> prompt;
  std::vector<int32_t> completion;
};

class CompletionEncoder {
 public:
  // `tokenizer` must outlive the encoder. A tokenizer without a chat template still encodes text
  // records; chat records then fail with InvalidArgument. Template parse errors are returned.
  static Result<std::unique_ptr<CompletionEncoder>> Create(const Tokenizer& tokenizer);

  Result<PromptCompletionIds> EncodeText(std::string_view prompt, std::string_view completion) const;
  // messages: [{"role", "content"}, ...] ending with a user (or tool) turn.
  Result<PromptCompletionIds> EncodeChat(const nlohmann::json& messages, std::string_view completion) const;
  // The chat prompt as text (what EncodeChat tokenizes).
  Result<std::string> RenderPrompt(const nlohmann::json& messages) const;
  // The chat prompt's ids alone (generation's input).
  Result<std::vector<int32_t>> EncodeChatPrompt(const nlohmann::json& messages) const;
  // The same ids for trusted contents, but special-token text inside a message's content (a user
  // typing "<|eot_id|>") stays plain text instead of becoming a control token: what a server
  // must use for requests from the network. (Training data keeps TRL's rule above.)
  Result<std::vector<int32_t>> EncodeChatPromptUntrusted(const nlohmann::json& messages) const;

  std::optional<int32_t> end_of_turn_id() const { return end_of_turn_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  CompletionEncoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  const Tokenizer& tokenizer_;
  std::optional<jinja::Template> template_;
  std::optional<int32_t> end_of_turn_;
};

// Checks a message list: a non-empty array of {"role": string, "content": string} objects with
// roles system/user/assistant/tool. `where` prefixes the error.
Status ValidateMessages(const nlohmann::json& messages, const std::string& where);

// One scoring/preference record side: {"prompt": str, "completion": str},
// {"messages": [...], "completion": str}, or TRL conversational {"prompt": [...], "completion":
// [{"role": "assistant", "content": str}]}. InvalidArgument naming the missing/bad key.
Result<PromptCompletionIds> EncodeRecord(const CompletionEncoder& encoder, const nlohmann::json& record);

}  // namespace tenet
