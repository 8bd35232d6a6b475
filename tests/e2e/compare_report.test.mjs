// `tenet compare`'s report.html in headless Chromium (playwright-core, through harness.mjs):
// the summary, one table row per question, the reward histogram and the training curves as SVG
// with their data points, hostile model text shown as text (no script runs, no element is made
// from it), and no request leaves the page. Screenshots go to TENET_ARTIFACTS.
//
//   TENET_BIN=build/tenet TENET_ARTIFACTS=/tmp/shots node --test tests/e2e/compare_report.test.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TENET_BIN, execFileAsync, launchBrowser, repoRoot, screenshot } from './harness.mjs';

const TOKENIZER = path.join(repoRoot, 'tests', 'node', 'node_modules', '@lenml', 'tokenizer-llama3', 'models');

let work, browser;
const HOSTILE_Q = 'Is this <script>window.pwned = 1</script> safe?';

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-compare-'));
  const model = path.join(work, 'tiny');
  await execFileAsync(TENET_BIN, ['model', 'init', '--preset', 'tiny', '--out', model, '--tokenizer', TOKENIZER]);
  // A run folder as `tenet train dpo` leaves it: an adapter, config.json with beta, metrics.jsonl
  // (30 steps, an eval line every 10).
  const run = path.join(work, 'run');
  await execFileAsync('/usr/bin/python3', [path.join(repoRoot, 'tests', 'reference', 'llama_reference.py'), 'make-adapter',
    '--model', model, '--out', path.join(run, 'adapter')]);
  fs.writeFileSync(path.join(run, 'config.json'), JSON.stringify({ given: {}, resolved: { beta: 0.2, loss: 'sigmoid' } }));
  const lines = [];
  for (let step = 1; step <= 30; ++step) {
    const m = 0.05 * step;
    lines.push({ step, epoch: step / 10, learning_rate: 1e-4, grad_norm: 1, loss: 0.69 - 0.01 * step, 'rewards/chosen': m / 2,
      'rewards/rejected': -m / 2, 'rewards/margins': m, 'rewards/accuracies': Math.min(1, 0.5 + step / 60) });
    if (step % 10 === 0) {
      lines.push({ step, epoch: step / 10, eval_loss: 0.7 - 0.008 * step, 'eval_rewards/margins': m * 0.8,
        'eval_rewards/accuracies': 0.5 + step / 80, 'eval_rewards/chosen': m / 3, 'eval_rewards/rejected': -m / 3 });
    }
  }
  fs.writeFileSync(path.join(run, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  fs.writeFileSync(path.join(work, 'q.jsonl'), [
    { id: 'apr', question: "What's the APR on my card?" },
    { id: 'pin', question: 'How do I reset my PIN?' },
    { id: 'xss', question: HOSTILE_Q },
    { id: 'img', question: 'And <img src=x onerror="window.pwned=2"> this?' },
  ].map((l) => JSON.stringify(l)).join('\n') + '\n');
  fs.writeFileSync(path.join(work, 'values.md'), "You are Example Bank's assistant.\n");
  await execFileAsync(TENET_BIN, ['compare', '--model', model, '--run', run, '--questions', path.join(work, 'q.jsonl'),
    '--system', path.join(work, 'values.md'), '--samples', '2', '--max-new-tokens', '24', '--seed', '3', '--threads', '2',
    '--out', path.join(work, 'report')]);
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the report shows the summary, the answers side by side and the plots; model text stays text; nothing is fetched', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const requests = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  const file = path.join(work, 'report', 'report.html');
  await page.goto(pathToFileURL(file).href);

  const body = await page.textContent('body');
  assert.match(body, /before/);
  assert.match(body, /after/);
  assert.match(body, /4 questions|questions\s*4|4\s*questions/i, 'the summary says how many questions');
  // One row per question in the side-by-side table.
  const rows = await page.$$eval('table', (tables) => {
    const t = tables.find((x) => x.textContent.includes("What's the APR on my card?"));
    return t ? t.querySelectorAll('tbody tr').length : -1;
  });
  assert.ok(rows >= 4, `rows of the answers table: ${rows}`);

  // Hostile text: shown as typed, nothing ran, no element came from it.
  assert.ok(body.includes(HOSTILE_Q), 'the question with a script tag shows as text');
  assert.ok(body.includes('<img src=x onerror="window.pwned=2">'));
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.$$eval('script', (s) => s.length), 0);
  assert.equal(await page.$$eval('img', (s) => s.length), 0);
  assert.deepEqual(dialogs, []);
  const csp = await page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content);
  assert.match(csp, /default-src 'none'/);

  // Plots: the training curves (30 steps of train loss: 30 data points in one series) and the
  // reward histogram.
  const svgs = await page.$$eval('svg', (s) => s.length);
  assert.ok(svgs >= 3, `svg elements: ${svgs}`);
  const points = await page.$$eval('svg circle', (c) => c.length);
  assert.ok(points >= 30, `data points drawn: ${points}`);
  assert.match(body, /loss/);
  assert.match(body, /margins/);

  await screenshot(page, 'compare-report.png');
  await page.emulateMedia({ media: 'print' });
  await screenshot(page, 'compare-report-print.png');
  assert.deepEqual(requests, [], 'the report fetches nothing');
  await page.close();
});
