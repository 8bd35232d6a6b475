// serve_bench: `tenet serve` under concurrent streaming clients (the official `openai` npm
// client), as a user's apps would load it. For each concurrency level: aggregate generated
// tokens/s, time to first token and inter-token latency (p50 / p99), with every client on the
// base model and with the clients spread over the base and two adapters (the mixed batch). Plus
// one client against `tenet generate`'s batch-1 decode speed on the same model and threads.
// Prints one JSON object.
//
//   tests/node/node_modules/.bin/node bench/serve_bench.mjs [--model DIR] [--preset bench] [--threads 2]
//       [--clients 1,8,32] [--requests 2] [--tokens 64] [--isa avx2]
//
// Without --model a random model of --preset is made with `tenet model init` (Meta's Llama 3
// tokenizer from tests/node); the two adapters are random PEFT adapters written by
// tests/reference/llama_reference.py (Debian's python3-torch). Every request runs to --tokens
// (temperature 1, no stop): the random model's end-of-turn is as rare as any token.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..');
const { OpenAI } = createRequire(path.join(repoRoot, 'tests', 'node', 'package.json'))('openai');
const execFileAsync = promisify(execFile);

const args = { model: '', preset: 'bench', threads: '2', clients: '1,8,32', requests: '2', tokens: '64', isa: '' };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in args) || i + 1 >= process.argv.length) {
    console.error('usage: serve_bench.mjs [--model DIR] [--preset bench] [--threads 2] [--clients 1,8,32] [--requests 2] [--tokens 64] [--isa avx2]');
    process.exit(2);
  }
  args[k] = process.argv[i + 1];
}
const TENET = process.env.TENET_BIN || path.join(repoRoot, 'build', 'tenet');
const levels = args.clients.split(',').map(Number);
const tokens = Number(args.tokens);
const isa = args.isa ? ['--isa', args.isa] : [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-serve-bench-'));

const pct = (xs, p) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function main() {
  let model = args.model;
  if (!model) {
    model = path.join(work, args.preset);
    await execFileAsync(TENET, ['model', 'init', '--preset', args.preset, '--out', model, '--tokenizer',
      path.join(repoRoot, 'tests', 'node', 'node_modules', '@lenml', 'tokenizer-llama3', 'models')]);
  }
  const adapters = [];
  for (const seed of [1, 2]) {
    const dir = path.join(work, 'adapter' + seed);
    await execFileAsync('/usr/bin/python3', [path.join(repoRoot, 'tests', 'reference', 'llama_reference.py'), 'make-adapter',
      '--model', model, '--out', dir, '--seed', String(seed)], { maxBuffer: 1 << 24 });
    adapters.push(['a' + seed, dir]);
  }
  const maxBatch = Math.max(...levels);
  const proc = spawn(TENET, [...isa, 'serve', '--model', model, '--served-model-name', 'base', '--port', '0', '--threads', args.threads,
    '--max-batch', String(maxBatch), ...adapters.flatMap(([n, d]) => ['--adapter', `${n}=${d}`])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const baseURL = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/on (http:\/\/[^\s]+\/v1)/);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (c) => reject(new Error('server exited ' + c + ': ' + stderr)));
  });
  const client = new OpenAI({ apiKey: 'unused', baseURL, maxRetries: 0, timeout: 600000 });
  const messages = (i) => [
    { role: 'system', content: 'You are the assistant of Example Bank. Be helpful, honest and polite.' },
    { role: 'user', content: `Question ${i}: how do I raise the limit of my credit card, and how long does it take?` },
  ];

  // One streaming request: TTFT, the gaps between content chunks, tokens.
  async function one(model, i) {
    const t0 = performance.now();
    const stream = await client.chat.completions.create({
      model, messages: messages(i), max_tokens: tokens, temperature: 1, seed: i, stream: true, stream_options: { include_usage: true },
    });
    let first = null, last = null, usage = null;
    const gaps = [];
    for await (const c of stream) {
      if (c.usage) usage = c.usage;
      if (!c.choices.some((ch) => ch.delta?.content)) continue;
      const now = performance.now();
      if (first === null) first = now;
      else gaps.push((now - last) / 1000);
      last = now;
    }
    return { ttft: (first - t0) / 1000, gaps, tokens: usage.completion_tokens, decode_s: (last - first) / 1000 };
  }

  async function level(n, mixed) {
    const models = mixed ? ['base', 'a1', 'a2'] : ['base'];
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: n }, async (_, c) => {
      const out = [];
      for (let r = 0; r < Number(args.requests); ++r) out.push(await one(models[c % models.length], c * 100 + r));
      return out;
    }));
    const wall = (performance.now() - t0) / 1000;
    const all = results.flat();
    const generated = all.reduce((s, x) => s + x.tokens, 0);
    const gaps = all.flatMap((x) => x.gaps);
    return {
      clients: n, mixed, requests: all.length, generated_tokens: generated, wall_s: wall,
      tokens_per_s: generated / wall,
      ttft_p50_s: pct(all.map((x) => x.ttft), 50), ttft_p99_s: pct(all.map((x) => x.ttft), 99),
      itl_p50_s: pct(gaps, 50), itl_p99_s: pct(gaps, 99),
      one_client_decode_tokens_per_s: n === 1 ? all.reduce((s, x) => s + x.tokens - 1, 0) / all.reduce((s, x) => s + x.decode_s, 0) : undefined,
    };
  }

  await one('base', 0);  // warm-up: the first pass faults in the weights
  const report = { bench: 'serve', model: args.model || `random ${args.preset}`, threads: Number(args.threads), tokens, isa: args.isa || 'native', levels: [] };
  for (const n of levels) {
    report.levels.push(await level(n, false));
    report.levels.push(await level(n, true));
  }
  proc.kill('SIGTERM');

  // tenet generate, batch 1, the same model, threads and token count.
  const q = path.join(work, 'q.jsonl');
  fs.writeFileSync(q, JSON.stringify({ id: 'q', messages: messages(0) }) + '\n');
  const gen = await execFileAsync(TENET, [...isa, 'generate', '--model', model, '--questions', q, '--out', path.join(work, 'g.jsonl'),
    '--samples', '1', '--slots', '1', '--max-new-tokens', String(tokens), '--temperature', '1', '--threads', args.threads]);
  const summary = JSON.parse(gen.stderr.trim().split('\n').pop());
  report.generate_batch1_decode_tokens_per_s = summary.decode_tokens_per_s;
  const lv = (n, mixed) => report.levels.find((l) => l.clients === n && l.mixed === mixed);
  const one1 = lv(1, false);
  if (one1) report.ratio_one_client_to_generate = one1.one_client_decode_tokens_per_s / summary.decode_tokens_per_s;
  if (lv(1, false) && lv(8, false)) report.ratio_8_clients_to_1 = lv(8, false).tokens_per_s / lv(1, false).tokens_per_s;
  report.ratio_mixed_to_single_model = Object.fromEntries(levels.map((n) => [n, lv(n, true).tokens_per_s / lv(n, false).tokens_per_s]));
  fs.rmSync(work, { recursive: true, force: true });
  console.log(JSON.stringify(report, null, 2));
}

main().catch((e) => {
  console.error('serve_bench: ' + (e.stack || e));
  fs.rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
