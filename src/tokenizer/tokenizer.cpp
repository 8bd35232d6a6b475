// Hugging Face tokenizer.json loading, Encode/Decode, tokenizer_config.json fields and the streaming
// decoder. See tenet/tokenizer/tokenizer.h. The stages live in their own files: pre_tokenizer.cpp
// (Split/ByteLevel), bpe.cpp (the model), regex.cpp (PCRE2), utf8.cpp, byte_level.cpp.
//
// The pipeline follows HF tokenizers' TokenizerImpl::encode_single_sequence:
//   1. split out added tokens that are not `normalized` (all special tokens in practice), on the
//      raw text, leftmost-longest;
//   2. normalize each remaining section (NFC or nothing), then split out the `normalized` added
//      tokens;
//   3. pre-tokenize each remaining piece into words;
//   4. BPE each word.
#include "tenet/tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <deque>
#include <limits>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>

#include "tenet/tokenizer/bpe.h"
#include "tenet/tokenizer/byte_level.h"
#include "tenet/tokenizer/nfc.h"
#include "tenet/tokenizer/pre_tokenizer.h"
#include "tenet/tokenizer/regex.h"
#include "tenet/util/utf8.h"
#include "tenet/util/file.h"

namespace tenet {

namespace {

using nlohmann::json;

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

// Byte trie over added-token contents. HF matches them with an Aho-Corasick automaton in
// LeftmostLongest mode; walking a trie from each candidate start gives the same matches, and the
// first-byte filter makes text without added tokens cost one table lookup per byte.
class AddedTokenTrie {
 public:
  void Add(std::string_view s, int32_t index) {
    int32_t node = 0;
    for (unsigned char c : s) {
      int32_t child = -1;
      for (const auto& [byte, to] : nodes_[node].children) {
        if (byte == c) child = to;
      }
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_[node].children.emplace_back(c, child);
        nodes_.emplace_back();
      }
      node = child;
    }
    nodes_[node].token = index;
    first_[static_cast<unsigned char>(s[0])] = true;
    empty_ = false;
  }
  bool empty() const { return empty_; }
  bool MayStart(unsigned char c) const { return first_[c]; }

  // The longest token (index) starting at text[pos] and its length; {-1, 0} if none.
  std::pair<int32_t, size_t> LongestAt(std::string_view text, size_t pos) const {
    std::pair<int32_t, size_t> best{-1, 0};
    int32_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      int32_t child = -1;
      for (const auto& [byte, to] : nodes_[node].children) {
        if (byte == c) child = to;
      }
      if (child < 0) break;
      node = child;
      if (nodes_[node].token >= 0) best = {nodes_[node].token, i + 1 - pos};
    }
    return best;
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t token = -1;
  };
  std::vector<Node> nodes_{1};
  std::array<bool, 256> first_{};
  bool empty_ = true;
};

// A stretch of the input: text still to tokenize (id < 0) or one added token.
struct Section {
  std::string_view text;
  int32_t id = -1;
};

// Rust regex's \w (what HF's single_word check uses), approximated with Unicode categories.
bool IsWordChar(char32_t cp) {
  static const std::unique_ptr<Regex> re = [] {
    auto r = Regex::Compile("\\A\\w", "word-character pattern");
    return r.ok() ? std::move(r).value() : nullptr;
  }();
  if (re == nullptr) return false;
  std::string s;
  utf8::Append(&s, cp);
  std::vector<std::pair<size_t, size_t>> m;
  return re->FindAll(s, &m).ok() && !m.empty();
}

size_t PrevCharStart(std::string_view s, size_t pos) {
  size_t i = pos - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

bool GetBool(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// bos_token / eos_token in tokenizer_config.json: a string, an AddedToken object
// {"content": ..., "__type": "AddedToken"}, or null.
Result<std::string> TokenField(const json& config, const char* key, const std::string& origin) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) return c->get<std::string>();
  }
  return Status::Corruption(origin, std::string(key) + " must be a string or an object with a string \"content\"");
}

// The special token a post_processor puts first in a single sequence, if any: HF adds BOS through
// TemplateProcessing (Meta's Llama 3 tokenizer.json since May 2024: Sequence[ByteLevel,
// TemplateProcessing{single: [<|begin_of_text|>, $A]}]).
std::string TemplateFirstSpecial(const json& pp) {
  if (!pp.is_object()) return "";
  const std::string type = pp.value("type", std::string());
  if (type == "Sequence") {
    auto it = pp.find("processors");
    if (it == pp.end() || !it->is_array()) return "";
    for (const json& p : *it) {
      std::string t = TemplateFirstSpecial(p);
      if (!t.empty()) return t;
    }
    return "";
  }
  if (type != "TemplateProcessing") return "";
  auto single = pp.find("single");
  if (single == pp.end()) return "";
  if (single->is_array() && !single->empty()) {
    const json& first = (*single)[0];
    if (first.is_object()) {
      auto st = first.find("SpecialToken");
      if (st != first.end() && st->is_object() && st->contains("id") && (*st)["id"].is_string()) {
        return (*st)["id"].get<std::string>();
      }
    }
    return "";
  }
  if (single->is_string()) {
    // Python-side shorthand "<s>:0 $A:0".
    std::string s = single->get<std::string>();
    std::string first = s.substr(0, s.find(' '));
    if (first.empty() || first[0] == '$') return "";
    if (auto colon = first.rfind(':'); colon != std::string::npos && colon > 0) first = first.substr(0, colon);
    return first;
  }
  return "";
}

class HfTokenizer final : public Tokenizer {
 public:
  static Result<std::unique_ptr<HfTokenizer>> Create(std::string_view tokenizer_json, std::string_view config_json,
                                                    const std::string& origin, const std::string& config_origin,
                                                    const TokenizerOptions& options);

  Result<std::vector<int32_t>> Encode(std::string_view text, bool special) const override;
  Result<std::vector<int32_t>> Encode(std::string_view text, const std::vector<std::pair<size_t, size_t>>& plain) const override;
  Result<std::string> Decode(const std::vector<int32_t>& ids, bool skip_special) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(id_to_token_.size()); }
  std::optional<int32_t> TokenToId(std::string_view token) const override;
  std::string IdToToken(int32_t id) const override {
    return id >= 0 && id < vocab_size() ? id_to_token_[id] : std::string();
  }
  bool IsSpecial(int32_t id) const override { return id >= 0 && id < vocab_size() && special_[id] != 0; }
  const TokenizerConfig& config() const override { return config_; }

  void set_chat_template(std::string t) { config_.chat_template = std::move(t); }

 private:
  Status LoadTokenizerJson(const json& j, const std::string& origin, const TokenizerOptions& options);
  Status ParseNormalizer(const json& n, const std::string& where, const std::string& origin);
  Status LoadConfig(std::string_view config_json, const json& post_processor, const std::string& origin);
  // Which special-token matches count: all, none, or those outside the plain ranges (byte
  // offsets of the text passed to Encode; `offset` = where the split text starts in it).
  struct Specials {
    bool all = true;
    const std::vector<std::pair<size_t, size_t>>* plain = nullptr;
    size_t offset = 0;
    bool Allowed(size_t start, size_t stop) const {
      if (plain == nullptr) return all;
      for (const auto& [b, e] : *plain)
        if (offset + start < e && b < offset + stop) return false;
      return true;
    }
  };
  void SplitAdded(std::string_view text, const AddedTokenTrie& trie, const Specials& special, std::vector<Section>* out) const;
  Result<std::vector<int32_t>> EncodeImpl(std::string_view text, const Specials& special) const;
  Status EncodeText(std::string_view text, std::vector<int32_t>* ids) const;

  std::unique_ptr<BpeModel> model_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::vector<AddedToken> added_;
  StringIdMap added_ids_;          // content -> id
  AddedTokenTrie raw_trie_;        // added tokens with normalized == false
  AddedTokenTrie normalized_trie_; // added tokens with normalized == true
  std::vector<std::string> id_to_token_;
  std::vector<std::string> id_bytes_;  // what the ByteLevel decoder turns each id into
  std::vector<uint8_t> special_;
  bool nfc_ = false;  // normalizer NFC
  TokenizerConfig config_;
};

Status HfTokenizer::ParseNormalizer(const json& n, const std::string& where, const std::string& origin) {
  if (n.is_null()) return Status::OK();
  const std::string type = n.is_object() && n.contains("type") && n["type"].is_string() ? n["type"].get<std::string>() : "";
  if (type == "NFC") {
    nfc_ = true;
    return Status::OK();
  }
  if (type == "Sequence") {
    auto list = n.find("normalizers");
    if (list == n.end() || !list->is_array()) return Status::Corruption(origin, where + ".normalizers must be an array");
    for (size_t i = 0; i < list->size(); ++i) {
      TENET_RETURN_IF_ERROR(ParseNormalizer((*list)[i], where + ".normalizers[" + std::to_string(i) + "]", origin));
    }
    return Status::OK();
  }
  return Status::Unimplemented(origin, where + ".type '" + type + "' is not supported (null, NFC, Sequence)");
}

Status HfTokenizer::LoadTokenizerJson(const json& j, const std::string& origin, const TokenizerOptions& options) {
  if (!j.is_object()) return Status::Corruption(origin, "top level must be a JSON object");

  // Normalizer: null, NFC (Qwen2), or a Sequence of those.
  if (auto n = j.find("normalizer"); n != j.end()) TENET_RETURN_IF_ERROR(ParseNormalizer(*n, "normalizer", origin));

  TENET_ASSIGN_OR_RETURN(pre_tokenizer_,
                         PreTokenizer::FromJson(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(), origin));
  if (!pre_tokenizer_->byte_level()) {
    return Status::Unimplemented(origin, "pre_tokenizer has no ByteLevel step; only byte-level BPE is supported");
  }
  auto decoder = j.find("decoder");
  if (decoder == j.end() || !decoder->is_object() || decoder->value("type", std::string()) != "ByteLevel") {
    std::string type = decoder != j.end() && decoder->is_object() ? decoder->value("type", std::string()) : "null";
    return Status::Unimplemented(origin, "decoder.type '" + type + "' is not supported (only ByteLevel)");
  }

  auto model = j.find("model");
  if (model == j.end()) return Status::Corruption(origin, "missing \"model\"");
  TENET_ASSIGN_OR_RETURN(model_, BpeModel::FromJson(*model, origin, options.word_cache_capacity));

  if (auto at = j.find("added_tokens"); at != j.end() && !at->is_null()) {
    if (!at->is_array()) return Status::Corruption(origin, "added_tokens must be an array");
    for (size_t i = 0; i < at->size(); ++i) {
      const json& e = (*at)[i];
      const std::string where = "added_tokens[" + std::to_string(i) + "]";
      if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer() || !e.contains("content") ||
          !e["content"].is_string()) {
        return Status::Corruption(origin, where + " must have an integer \"id\" and a string \"content\"");
      }
      AddedToken t;
      const int64_t id = e["id"].get<int64_t>();
      if (id < 0 || id > std::numeric_limits<int32_t>::max() - 1) return Status::Corruption(origin, where + ".id out of range");
      t.id = static_cast<int32_t>(id);
      t.content = e["content"].get<std::string>();
      if (t.content.empty()) return Status::Corruption(origin, where + ".content is empty");
      if (!utf8::IsValid(t.content)) return Status::Corruption(origin, where + ".content is not valid UTF-8");
      t.special = GetBool(e, "special", false);
      t.lstrip = GetBool(e, "lstrip", false);
      t.rstrip = GetBool(e, "rstrip", false);
      t.single_word = GetBool(e, "single_word", false);
      t.normalized = GetBool(e, "normalized", !t.special);  // HF's AddedToken default
      added_ids_[t.content] = t.id;
      added_.push_back(std::move(t));
    }
  }
  for (size_t i = 0; i < added_.size(); ++i) {
    (added_[i].normalized ? normalized_trie_ : raw_trie_).Add(added_[i].content, static_cast<int32_t>(i));
  }

  // Id tables: model vocabulary first, added tokens override (HF looks them up first).
  int64_t size = 0;
  for (const auto& [tok, id] : model_->vocab()) size = std::max<int64_t>(size, int64_t{id} + 1);
  for (const AddedToken& t : added_) size = std::max<int64_t>(size, int64_t{t.id} + 1);
  if (size > (int64_t{1} << 26)) return Status::Corruption(origin, "ids up to " + std::to_string(size) + " are implausible");
  id_to_token_.assign(size, std::string());
  special_.assign(size, 0);
  for (const auto& [tok, id] : model_->vocab()) id_to_token_[id] = tok;
  for (const AddedToken& t : added_) {
    id_to_token_[t.id] = t.content;
    special_[t.id] = t.special ? 1 : 0;
  }
  // HF's ByteLevel decoder maps a token through the byte alphabet when every character is in it,
  // and otherwise passes the token's own UTF-8 through (e.g. an added token containing a space).
  id_bytes_.resize(size);
  for (int64_t id = 0; id < size; ++id) {
    if (!byte_level::TokenToBytes(id_to_token_[id], &id_bytes_[id])) id_bytes_[id] = id_to_token_[id];
  }
  return Status::OK();
}

Status HfTokenizer::LoadConfig(std::string_view config_json, const json& post_processor, const std::string& origin) {
  json config = json::object();
  if (config_json.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    config = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded()) return Status::Corruption(origin, "malformed JSON");
    if (!config.is_object()) return Status::Corruption(origin, "top level must be a JSON object");
  }
  TENET_ASSIGN_OR_RETURN(config_.bos_token, TokenField(config, "bos_token", origin));
  TENET_ASSIGN_OR_RETURN(config_.eos_token, TokenField(config, "eos_token", origin));

  // Without add_bos_token, PreTrainedTokenizerFast adds whatever the post_processor adds.
  const std::string first_special = TemplateFirstSpecial(post_processor);
  if (config_.bos_token.empty()) config_.bos_token = first_special;
  if (auto it = config.find("add_bos_token"); it != config.end() && !it->is_null()) {
    if (!it->is_boolean()) return Status::Corruption(origin, "add_bos_token must be true or false");
    config_.add_bos_token = it->get<bool>();
  } else {
    config_.add_bos_token = !first_special.empty() && first_special == config_.bos_token;
  }

  if (auto it = config.find("chat_template"); it != config.end() && !it->is_null()) {
    if (it->is_string()) {
      config_.chat_template = it->get<std::string>();
    } else if (it->is_array()) {
      // [{"name": "default", "template": ...}, {"name": "tool_use", ...}]: Tenet renders the default.
      for (const json& e : *it) {
        if (e.is_object() && e.value("name", std::string()) == "default" && e.contains("template") &&
            e["template"].is_string()) {
          config_.chat_template = e["template"].get<std::string>();
        }
      }
    } else {
      return Status::Corruption(origin, "chat_template must be a string or a list of {name, template}");
    }
  }
  if (!config_.bos_token.empty()) config_.bos_id = TokenToId(config_.bos_token);
  if (!config_.eos_token.empty()) config_.eos_id = TokenToId(config_.eos_token);
  return Status::OK();
}

Result<std::unique_ptr<HfTokenizer>> HfTokenizer::Create(std::string_view tokenizer_json, std::string_view config_json,
                                                         const std::string& origin, const std::string& config_origin,
                                                         const TokenizerOptions& options) {
  json j = json::parse(tokenizer_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Corruption(origin, "malformed JSON");
  std::unique_ptr<HfTokenizer> t(new HfTokenizer());
  // Every field is type-checked before use; this only guards against a nlohmann accessor we missed.
  try {
    TENET_RETURN_IF_ERROR(t->LoadTokenizerJson(j, origin, options));
    TENET_RETURN_IF_ERROR(t->LoadConfig(config_json, j.contains("post_processor") ? j["post_processor"] : json(), config_origin));
  } catch (const json::exception& e) {
    return Status::Corruption(origin, std::string("unexpected structure: ") + e.what());
  }
  return t;
}

std::optional<int32_t> HfTokenizer::TokenToId(std::string_view token) const {
  if (auto it = added_ids_.find(token); it != added_ids_.end()) return it->second;
  if (auto it = model_->vocab().find(token); it != model_->vocab().end()) return it->second;
  return std::nullopt;
}

void HfTokenizer::SplitAdded(std::string_view text, const AddedTokenTrie& trie, const Specials& special,
                             std::vector<Section>* out) const {
  if (trie.empty()) {
    if (!text.empty()) out->push_back({text, -1});
    return;
  }
  const size_t n = text.size();
  size_t seg_start = 0;  // start of the text not yet emitted
  size_t pos = 0;
  while (pos < n) {
    if (!trie.MayStart(static_cast<unsigned char>(text[pos]))) {
      ++pos;
      continue;
    }
    const auto [index, len] = trie.LongestAt(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = added_[index];
    size_t start = pos, stop = pos + len;
    // With special == false a special token is plain text (HF's encode_special_tokens). As in HF
    // the match is still found first and then dropped, so a shorter non-special token inside it
    // does not match either; the automaton resumes after a dropped match.
    if (tok.special && !special.Allowed(start, stop)) {
      pos = stop;
      continue;
    }
    if (tok.single_word) {
      size_t i = start > 0 ? PrevCharStart(text, start) : 0;
      const bool word_before = start > 0 && IsWordChar(utf8::Next(text, &i));
      i = stop;
      const bool word_after = stop < n && IsWordChar(utf8::Next(text, &i));
      if (word_before || word_after) {
        pos = stop;
        continue;
      }
    }
    if (tok.lstrip) {
      while (start > seg_start) {
        size_t prev = PrevCharStart(text, start), i = prev;
        if (!utf8::IsWhiteSpace(utf8::Next(text, &i))) break;
        start = prev;
      }
    }
    if (tok.rstrip) {
      while (stop < n) {
        size_t i = stop;
        if (!utf8::IsWhiteSpace(utf8::Next(text, &i))) break;
        stop = i;
      }
    }
    if (start > seg_start) out->push_back({text.substr(seg_start, start - seg_start), -1});
    out->push_back({{}, tok.id});
    seg_start = pos = stop;
  }
  if (seg_start < n) out->push_back({text.substr(seg_start), -1});
}

Status HfTokenizer::EncodeText(std::string_view text, std::vector<int32_t>* ids) const {
  std::vector<std::string_view> words;
  std::deque<std::string> arena;
  TENET_RETURN_IF_ERROR(pre_tokenizer_->Split(text, &words, &arena));
  for (std::string_view w : words) model_->EncodeWord(w, ids);
  return Status::OK();
}

Result<std::vector<int32_t>> HfTokenizer::Encode(std::string_view text, bool special) const {
  Specials s;
  s.all = special;
  return EncodeImpl(text, s);
}

Result<std::vector<int32_t>> HfTokenizer::Encode(std::string_view text, const std::vector<std::pair<size_t, size_t>>& plain) const {
  Specials s;
  s.plain = &plain;
  return EncodeImpl(text, s);
}

Result<std::vector<int32_t>> HfTokenizer::EncodeImpl(std::string_view text, const Specials& special) const {
  if (size_t bad = utf8::FindInvalid(text); bad != std::string_view::npos) {
    return Status::InvalidArgument("text", "not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 4 + 4);
  std::vector<Section> sections, inner;
  SplitAdded(text, raw_trie_, special, &sections);
  for (const Section& s : sections) {
    if (s.id >= 0) {
      ids.push_back(s.id);
      continue;
    }
    // The normalized text must outlive `inner`, whose views point into it.
    std::string normalized;
    std::string_view body = s.text;
    if (nfc_ && !IsNfcQuick(body)) {
      normalized = NfcNormalize(body);
      body = normalized;
    }
    inner.clear();
    // Offsets inside a normalized section no longer map to the input: the whole section counts.
    Specials in = special;
    const size_t start = static_cast<size_t>(s.text.data() - text.data());
    if (special.plain != nullptr) {
      in.plain = nullptr;
      in.all = special.Allowed(start, start + s.text.size());
    }
    SplitAdded(body, normalized_trie_, in, &inner);
    for (const Section& p : inner) {
      if (p.id >= 0) {
        ids.push_back(p.id);
      } else {
        TENET_RETURN_IF_ERROR(EncodeText(p.text, &ids));
      }
    }
  }
  return ids;
}

Result<std::string> HfTokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) {
      return Status::InvalidArgument("ids", "id " + std::to_string(id) + " is outside [0, " + std::to_string(vocab_size()) + ")");
    }
    if (skip_special && special_[id]) continue;
    bytes += id_bytes_[id];
  }
  return utf8::Lossy(bytes);
}

std::string ConfigOrigin(const std::string& origin) {
  constexpr std::string_view kName = "tokenizer.json";
  if (origin.size() >= kName.size() && origin.compare(origin.size() - kName.size(), kName.size(), kName) == 0) {
    return origin.substr(0, origin.size() - kName.size()) + "tokenizer_config.json";
  }
  return origin + " (tokenizer_config.json)";
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view tokenizer_json, std::string_view config_json,
                                                       const std::string& origin, const TokenizerOptions& options) {
  TENET_ASSIGN_OR_RETURN(auto t, HfTokenizer::Create(tokenizer_json, config_json, origin, ConfigOrigin(origin), options));
  return std::unique_ptr<Tokenizer>(std::move(t));
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::Load(const std::string& dir, const TokenizerOptions& options) {
  if (!IsDirectory(dir)) return Status::NotFound(dir, "no such tokenizer directory");
  const std::string path = JoinPath(dir, "tokenizer.json");
  if (!FileExists(path)) return Status::NotFound(path, "tokenizer.json missing");
  TENET_ASSIGN_OR_RETURN(std::string tokenizer_json, ReadFile(path));
  std::string config_json;
  const std::string config_path = JoinPath(dir, "tokenizer_config.json");
  if (FileExists(config_path)) {
    TENET_ASSIGN_OR_RETURN(config_json, ReadFile(config_path));
  }
  TENET_ASSIGN_OR_RETURN(auto t, HfTokenizer::Create(tokenizer_json, config_json, path, config_path, options));
  const std::string template_path = JoinPath(dir, "chat_template.jinja");
  if (t->config().chat_template.empty() && FileExists(template_path)) {
    TENET_ASSIGN_OR_RETURN(std::string tmpl, ReadFile(template_path));
    t->set_chat_template(std::move(tmpl));
  }
  return std::unique_ptr<Tokenizer>(std::move(t));
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {}

std::string TokenBytes(const Tokenizer& tokenizer, int32_t id) {
  // Same per-token rule as the ByteLevel decoder in Decode.
  const std::string token = tokenizer.IdToToken(id);
  std::string bytes;
  if (!byte_level::TokenToBytes(token, &bytes)) bytes = token;
  return bytes;
}

Result<std::string> StreamDecoder::Push(int32_t id) {
  if (id < 0 || id >= tokenizer_.vocab_size()) {
    return Status::InvalidArgument("ids", "id " + std::to_string(id) + " is outside [0, " +
                                              std::to_string(tokenizer_.vocab_size()) + ")");
  }
  if (skip_special_ && tokenizer_.IsSpecial(id)) return std::string();
  pending_ += TokenBytes(tokenizer_, id);
  // Hold back only a character that more bytes could still complete. Splitting there is safe for
  // the lossy conversion: an invalid subpart never extends over a lead byte.
  const size_t keep = utf8::IncompleteTail(pending_);
  std::string out = utf8::Lossy(std::string_view(pending_).substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string StreamDecoder::Flush() {
  std::string out = utf8::Lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace tenet
