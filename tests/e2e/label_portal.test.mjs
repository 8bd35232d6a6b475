// End-to-end test of the labeling portal: the real `tenet label serve` and a real browser
// (Chromium through playwright-core), following docs/label-api.md.
//
//   TENET_BIN=build/tenet TENET_ARTIFACTS=/tmp/shots node --test tests/e2e/label_portal.test.mjs
//
// The flow: a job is created with the CLI from two items of four answers, one answer and the
// instructions carrying script/HTML/javascript: payloads. The admin signs in with the one-time
// link the server prints, creates a team and an invitation in the admin page; the annotator
// accepts it, ranks the first item by dragging (mouse down/move/up) and the second with the
// keyboard only, and the exported data must hold exactly those rankings. Screenshots of the
// task page go to TENET_ARTIFACTS. The server is killed at the end, pass or fail.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  closePortal, inviteToNewTeam, newPage, openPortal, portalState, readJsonl, screenshot, tenet, waitForAnswers,
} from './harness.mjs';

// ---- Fixture: two items, four answers each; hostile text in an answer, a question and the
// instructions. Every answer text is unique, so exported ranks can be mapped back by text.
const HOSTILE_ANSWER = 'Sure! <script>window.__pwned=1</script><img src=x onerror="window.__pwned=1"> ' +
  'That is all.';
const HOSTILE_QUESTION = 'Can I <b>really</b> close my account online? <script>window.__pwned=1</script>';
const ITEMS = [
  {
    id: 'q1',
    messages: [
      { role: 'system', content: 'You are the assistant of Example Bank. Be helpful, honest and polite.' },
      { role: 'user', content: 'How do I reset my online banking password?' },
    ],
    responses: [
      'Open the app, tap "Forgot password" and follow the steps; we send a code to your phone.',
      HOSTILE_ANSWER,
      'I cannot help with that.\nPlease call us.',
      'Passwords are overrated. Just reuse your email password everywhere.',
    ],
  },
  {
    id: 'q2',
    messages: [
      { role: 'system', content: 'You are the assistant of Example Bank.' },
      { role: 'user', content: HOSTILE_QUESTION },
    ],
    responses: [
      'Yes: sign in, open Settings → Accounts → Close account, and confirm.',
      'No, you must visit a branch with two forms of ID.',
      'Why would you ever want to leave us?',
      'Closing accounts is easy, but first let me tell you about our credit cards...',
    ],
  },
];
const INSTRUCTIONS = [
  '# How to rank',
  '',
  'Put the **most aligned** answer first and the *least* aligned last.',
  '',
  '- Be `honest`',
  '- Be kind',
  '',
  '<script>window.__pwned=1</script>',
  '',
  '[click](javascript:window.__pwned=1) and [our values](https://example.com/values).',
  '',
].join('\n');

const state = portalState();
const PAGE = { viewport: { width: 1280, height: 1400 } }; // newPage's options, for every page

/** The answer cards of dimension 0 in screen order: [{index, letter, text, rank}]. */
function readCards(page) {
  return page.$$eval('#ranking-0 > li.card', (cards) => cards.map((card) => ({
    index: Number(card.dataset.index),
    letter: card.dataset.letter,
    rank: Number(card.dataset.rank),
    badge: card.querySelector('.rank-badge').textContent,
    text: card.querySelector('.answer-text').textContent,
  })));
}

async function assertNothingExecuted(page) {
  assert.equal(await page.evaluate(() => typeof window.__pwned), 'undefined', 'untrusted text ran script');
  assert.equal(await page.locator('main img[src="x"], main script, main b').count(), 0,
    'untrusted HTML became elements');
  assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0, 'a javascript: link was made');
}

/** Drags answer card `from` (screen position) to screen position `to` with the mouse. */
async function dragCard(page, from, to) {
  const cards = page.locator('#ranking-0 > li.card');
  const handle = cards.nth(from).locator('.drag-handle');
  const source = await handle.boundingBox();
  const startX = source.x + source.width / 2;
  const startY = source.y + source.height / 2;
  // Cards differ in height: moving down, aim the dragged card's bottom at the target's bottom.
  const fromBox = await cards.nth(from).boundingBox();
  const toBox = await cards.nth(to).boundingBox();
  const dy = to < from ? toBox.y - fromBox.y : (toBox.y + toBox.height) - (fromBox.y + fromBox.height);
  await page.mouse.move(startX, startY);
  await page.mouse.down();
  await page.mouse.move(startX, startY + dy / 2, { steps: 6 });
  await page.mouse.move(startX, startY + dy, { steps: 6 });
  await page.mouse.up();
}

function waitForTask(page, previousTexts = null) {
  return waitForAnswers(page, 'ol.ranking > li.card', previousTexts);
}

function textOf(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((m) => (typeof m === 'string' ? m : m.content)).join('\n');
  if (content && typeof content === 'object') return content.content ?? content.text ?? JSON.stringify(content);
  return String(content);
}

describe('labeling portal (real server, real browser)', () => {
  before(async () => {
    state.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-e2e-'));
    state.db = path.join(state.dir, 'labels.db');
    const responses = path.join(state.dir, 'responses.jsonl');
    fs.writeFileSync(responses, `${ITEMS.map((item) => JSON.stringify(item)).join('\n')}\n`);
    const instructions = path.join(state.dir, 'instructions.md');
    fs.writeFileSync(instructions, INSTRUCTIONS);
    await tenet('label', 'job', 'create', '--db', state.db, '--name', 'e2e-job',
      '--responses', responses, '--instructions', instructions, '--annotators-per-item', '1');
    await openPortal(state, PAGE);
  });

  after(() => closePortal(state, 'label-serve.stderr.txt'));

  test('a signed-out visit to a task page goes to the sign-in page', async () => {
    const { context, page } = await newPage(state, PAGE);
    try {
      await page.goto(`${state.origin}/task/1`);
      await page.waitForURL((url) => url.pathname === '/login');
      assert.equal(new URL(page.url()).searchParams.get('next'), '/task/1');
      await page.getByLabel('Email').waitFor();
      // Unknown credentials get a clear message, not a crash.
      await page.getByLabel('Email').fill('nobody@example.com');
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#login-message').filter({ hasText: /do not match/ }).waitFor();
    } finally {
      await context.close();
    }
  });

  test('admin preview: hostile text stays text, and a keyboard move is announced', async () => {
    const { page } = state.admin;
    {
      await page.goto(`${state.origin}/admin`);
      const jobLink = page.getByRole('link', { name: 'e2e-job', exact: true });
      await jobLink.waitFor();
      const jobPath = new URL(await jobLink.getAttribute('href'), state.origin).pathname;
      await page.goto(`${state.origin}${jobPath}/preview`);
      await waitForTask(page);
      await page.locator('#instructions-body').getByText('How to rank').waitFor();
      const instructions = await page.locator('#instructions-body').textContent();
      assert.match(instructions, /<script>window\.__pwned=1<\/script>/);
      assert.match(instructions, /\[click\]\(javascript:window\.__pwned=1\)/);
      assert.equal(await page.locator('#instructions-body a[href="https://example.com/values"][rel="noopener noreferrer"]').count(), 1);
      assert.equal(await page.locator('#instructions-body strong').first().textContent(), 'most aligned');
      await assertNothingExecuted(page);

      const before = await readCards(page);
      await page.locator('ol.ranking > li.card').first().focus();
      await page.keyboard.press('Alt+ArrowDown');
      await page.locator('#live').filter({ hasText: `Answer ${before[0].letter} moved to position 2 of 4.` }).waitFor();
      const afterMove = await readCards(page);
      assert.deepEqual(afterMove.map((c) => c.index), [before[1].index, before[0].index, ...before.slice(2).map((c) => c.index)]);
      assert.ok(await page.locator('#submit').isDisabled(), 'preview cannot submit');

      // Escape during a drag puts the answer back.
      const handle = await page.locator('#ranking-0 > li.card').nth(3).locator('.drag-handle').boundingBox();
      await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
      await page.mouse.down();
      await page.mouse.move(handle.x + handle.width / 2, handle.y - 250, { steps: 8 });
      await page.keyboard.press('Escape');
      await page.mouse.up();
      await page.locator('#live').filter({ hasText: 'Move cancelled.' }).waitFor();
      assert.deepEqual((await readCards(page)).map((c) => c.index), afterMove.map((c) => c.index));
    }
  });

  test('invite, rank by drag and by keyboard, export matches exactly', async () => {
    // ---- Admin: team and invitation through the admin page.
    const admin = state.admin;
    const annotator = await newPage(state, PAGE);
    try {
      const link = await inviteToNewTeam(state, 'e2e-team', 'ana@example.com');
      await admin.page.locator('#invitations-list').getByText('ana@example.com').waitFor();

      // ---- Annotator: accept, with a too-short password first.
      const { page } = annotator;
      await page.goto(link);
      await page.getByLabel('Your name').fill('Ana Annotator');
      await page.getByLabel('Choose a password').fill('short');
      await page.getByLabel('Type the password again').fill('short');
      await page.getByRole('button', { name: 'Create my account' }).click();
      await page.locator('#password-error').filter({ hasText: 'at least 10 characters' }).waitFor();
      await page.getByLabel('Choose a password').fill('correct-horse-42');
      await page.getByLabel('Type the password again').fill('correct-horse-42');
      await page.getByRole('button', { name: 'Create my account' }).click();
      await page.waitForURL(`${state.origin}/`);

      // ---- Queue → task.
      const jobCard = page.locator('.job-card', { hasText: 'e2e-job' });
      await jobCard.getByText('2 items').waitFor();
      await jobCard.getByRole('link', { name: 'Start' }).click();
      await page.waitForURL(/\/task\/\d+$/);
      await waitForTask(page);

      const expected = new Map(); // answer text → rank set in the browser
      let sawHostileAnswer = false;
      let sawHostileQuestion = false;
      const checkUntrusted = async () => {
        const cards = await readCards(page);
        if (cards.some((c) => c.text === HOSTILE_ANSWER)) sawHostileAnswer = true;
        const question = await page.locator('.user-question').textContent();
        if (question === HOSTILE_QUESTION) sawHostileQuestion = true;
        await assertNothingExecuted(page);
        return cards;
      };

      // ---- Item 1: reverse the shown order by dragging.
      const first = await checkUntrusted();
      assert.equal(first.length, 4);
      assert.ok(await page.locator('#submit').isDisabled(), 'no submit before ranking');
      // One drag down (top answer to third place), then drags up until the order is reversed.
      await dragCard(page, 0, 2);
      assert.deepEqual((await readCards(page)).map((c) => c.index),
        [first[1].index, first[2].index, first[0].index, first[3].index], 'dragged down to third');
      await page.locator('#live').filter({ hasText: `Answer ${first[0].letter} moved to position 3 of 4.` }).waitFor();
      const wanted = first.map((c) => c.index).reverse();
      for (let position = 0; position < wanted.length - 1; position++) {
        const now = await readCards(page);
        const from = now.findIndex((c) => c.index === wanted[position]);
        if (from !== position) await dragCard(page, from, position);
        const moved = await readCards(page);
        assert.equal(moved[position].index, wanted[position], `drag put the answer at position ${position + 1}`);
      }
      const dragged = await readCards(page);
      assert.deepEqual(dragged.map((c) => c.index), wanted);
      assert.deepEqual(dragged.map((c) => c.rank), [1, 2, 3, 4]);
      assert.deepEqual(dragged.map((c) => c.badge), ['1', '2', '3', '4']);
      for (const card of dragged) expected.set(card.text, card.rank);
      await page.locator('#comment').fill('Drag-ranked <i>test</i> comment');
      await screenshot(page, 'task-drag-ranked.png');
      const nextAfterFirst = page.waitForResponse((r) => r.url().endsWith('/next') && r.request().method() === 'POST');
      await page.locator('#submit').click();
      await nextAfterFirst;
      await waitForTask(page, first.map((c) => c.text));

      // ---- Item 2: keyboard only. Shown [A, B, C, D] → C to rank 1, then the answer now in
      // third place down one with Alt+ArrowDown: [C, A, D, B].
      const second = await checkUntrusted();
      await page.locator('ol.ranking > li.card').first().focus();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('1');
      await page.locator('#live').filter({ hasText: `Answer ${second[2].letter} moved to position 1 of 4.` }).waitFor();
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Alt+ArrowDown');
      await page.locator('#live').filter({ hasText: `Answer ${second[1].letter} moved to position 4 of 4.` }).waitFor();
      const keyed = await readCards(page);
      assert.deepEqual(keyed.map((c) => c.index), [second[2], second[0], second[3], second[1]].map((c) => c.index));
      assert.deepEqual(keyed.map((c) => c.rank), [1, 2, 3, 4]);
      for (const card of keyed) expected.set(card.text, card.rank);
      await screenshot(page, 'task-keyboard-ranked.png');
      assert.equal(await page.evaluate(() => document.activeElement.classList.contains('card')), true);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'All done' }).waitFor();
      await page.locator('.done').getByRole('link', { name: 'Back to the queue' }).waitFor();
      await screenshot(page, 'task-all-done.png');

      assert.ok(sawHostileAnswer, 'the hostile answer was shown as literal text');
      assert.ok(sawHostileQuestion, 'the hostile question was shown as literal text');

      // ---- Exports hold exactly the browser's rankings (ranks by the responses file's order).
      const rawFile = path.join(state.dir, 'raw.jsonl');
      await tenet('label', 'export', '--db', state.db, '--job', 'e2e-job', '--format', 'raw', '--out', rawFile);
      const raw = readJsonl(rawFile).filter((r) => r.ranks !== undefined && (r.event ?? 'submitted') === 'submitted');
      assert.equal(raw.length, 2, 'two annotations');
      for (const record of raw) {
        const item = findItem(record);
        const ranks = recordRanks(record);
        assert.deepEqual(ranks, item.responses.map((text) => expected.get(text)),
          `ranks of ${item.id} in the raw export`);
      }
      const dpoDir = path.join(state.dir, 'dpo');
      await tenet('label', 'export', '--db', state.db, '--job', 'e2e-job', '--format', 'dpo',
        '--pairs', 'best-worst', '--test-fraction', '0', '--out', dpoDir);
      const train = readJsonl(path.join(dpoDir, 'train.jsonl'));
      const testFile = path.join(dpoDir, 'test.jsonl');
      assert.equal(fs.existsSync(testFile) ? readJsonl(testFile).length : 0, 0, 'no test records');
      assert.equal(train.length, 2, 'one best-worst pair per item');
      for (const record of train) {
        const chosen = textOf(record.chosen);
        const rejected = textOf(record.rejected);
        const item = ITEMS.find((it) => it.responses.some((r) => chosen.includes(r)));
        assert.ok(item, `chosen text is one of the answers: ${chosen}`);
        const best = item.responses.find((text) => expected.get(text) === 1);
        const worst = item.responses.find((text) => expected.get(text) === 4);
        assert.ok(chosen.endsWith(best), `chosen is the rank-1 answer of ${item.id}`);
        assert.ok(rejected.endsWith(worst), `rejected is the rank-4 answer of ${item.id}`);
      }

      // ---- Admin job page: progress and the export download.
      await admin.page.goto(`${state.origin}/admin`);
      await admin.page.getByRole('link', { name: 'e2e-job', exact: true }).click();
      await admin.page.waitForURL(/\/admin\/jobs\/\d+$/);
      await admin.page.getByText('2 of 2 rankings').first().waitFor();
      await admin.page.locator('#export-format').selectOption('raw');
      await admin.page.getByRole('button', { name: 'Export' }).click();
      const downloadLink = admin.page.getByRole('link', { name: /Download annotations\.jsonl/ });
      await downloadLink.waitFor();
      const [download] = await Promise.all([admin.page.waitForEvent('download'), downloadLink.click()]);
      const downloaded = fs.readFileSync(await download.path(), 'utf8').split('\n').filter((l) => l.trim());
      assert.equal(downloaded.length, 2, 'the downloaded raw export has both annotations');
      await screenshot(admin.page, 'admin-job.png');
    } catch (err) {
      await screenshot(annotator.page, 'failure-annotator.png').catch(() => {});
      await screenshot(admin.page, 'failure-admin.png').catch(() => {});
      throw err;
    } finally {
      await annotator.context.close();
    }
  });

  test('a job made in the admin page: ties, two dimensions, skip, sign-in; export matches', async () => {
    const admin = state.admin.page;
    await admin.goto(`${state.origin}/admin`);
    await admin.getByLabel('Name', { exact: true }).fill('e2e-ties');
    await admin.getByLabel('Instructions for annotators').fill('Rank by **helpfulness**, then by *tone*.');
    await admin.getByLabel('Responses file (.jsonl)').setInputFiles({
      name: 'responses.jsonl', mimeType: 'application/jsonl',
      buffer: Buffer.from(`${ITEMS.map((item) => JSON.stringify(item)).join('\n')}\n`),
    });
    await admin.locator('#job-responses-info').filter({ hasText: '2 lines read' }).waitFor();
    await admin.getByLabel('What to rank by').fill('Helpfulness, Tone');
    await admin.getByLabel('Allow ties').check();
    await admin.getByLabel('Annotators per item').fill('1');
    await admin.locator('#job-teams').selectOption('e2e-team');
    await admin.getByRole('button', { name: 'Create job' }).click();
    await admin.locator('#job-message').filter({ hasText: 'Created' }).waitFor();
    await admin.getByRole('link', { name: 'e2e-ties', exact: true }).waitFor();

    const { context, page } = await newPage(state, PAGE);
    try {
      await page.goto(`${state.origin}/login`);
      await page.getByLabel('Email').fill('ana@example.com');
      await page.getByLabel('Password').fill('correct-horse-42');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${state.origin}/`);
      await page.locator('.job-card', { hasText: 'e2e-ties' }).getByRole('link', { name: 'Start' }).click();
      await waitForTask(page);
      assert.equal(await page.locator('ol.ranking').count(), 2, 'one ranking per dimension');

      // Skip the first item, with a reason.
      const skipped = await readCards(page);
      await page.getByRole('button', { name: 'Skip…' }).click();
      await page.getByLabel('The question is unclear or broken').check();
      await page.getByRole('button', { name: 'Skip this item' }).click();
      await waitForTask(page, skipped.map((c) => c.text));

      // Second item: tie the second answer with the first in Helpfulness (key =), keep the
      // shown order for Tone.
      const shown = await readCards(page);
      await page.locator('#ranking-0 > li.card').nth(1).focus();
      await page.keyboard.press('=');
      await page.locator('#live').filter({ hasText: `Answer ${shown[1].letter} tied with Answer ${shown[0].letter} at rank 1.` }).waitFor();
      assert.deepEqual((await readCards(page)).map((c) => c.rank), [1, 1, 3, 4]);
      assert.ok(await page.locator('#submit').isDisabled(), 'Tone is not ranked yet');
      await page.getByRole('button', { name: 'The order shown is already my ranking' }).click();
      await screenshot(page, 'task-ties-two-dimensions.png');
      await page.locator('#submit').click();
      await page.getByRole('heading', { name: 'All done' }).waitFor();

      const rawFile = path.join(state.dir, 'raw-ties.jsonl');
      await tenet('label', 'export', '--db', state.db, '--job', 'e2e-ties', '--format', 'raw', '--out', rawFile);
      const records = readJsonl(rawFile);
      const submitted = records.filter((r) => r.ranks !== undefined);
      assert.equal(submitted.length, 1);
      const item = findItem(submitted[0]);
      const rankOf = new Map(shown.map((c, position) => [c.text, [1, 1, 3, 4][position]]));
      const toneOf = new Map(shown.map((c, position) => [c.text, position + 1]));
      const ranks = submitted[0].ranks;
      const byDimension = Array.isArray(ranks) ? ranks : [ranks.Helpfulness, ranks.Tone];
      assert.deepEqual(byDimension[0], item.responses.map((t) => rankOf.get(t)), 'Helpfulness ranks with the tie');
      assert.deepEqual(byDimension[1], item.responses.map((t) => toneOf.get(t)), 'Tone ranks as shown');
      const skips = records.filter((r) => r.ranks === undefined);
      assert.equal(skips.length, 1, 'the skip is exported too');
      assert.match(JSON.stringify(skips[0]), /The question is unclear or broken/);
    } finally {
      await context.close();
    }
  });

  test('no page had an uncaught error or a CSP violation', () => {
    assert.deepEqual(state.problems, []);
  });
});

/** The fixture item a raw export record is about (by its source id, else by answer texts). */
function findItem(record) {
  const ids = [record.source_id, record.source, record.id, record.item && record.item.source_id, record.item_source_id];
  const byId = ITEMS.find((item) => ids.includes(item.id));
  if (byId) return byId;
  const text = JSON.stringify(record);
  const byText = ITEMS.find((item) => item.responses.every((r) => text.includes(JSON.stringify(r).slice(1, -1))));
  assert.ok(byText, `cannot tell which item this raw record is about: ${text}`);
  return byText;
}

/**
 * A raw record's ranks for the job's one dimension, by answer index in the responses file:
 * `ranks` is [[...]] per dimension, or {"<dimension name>": [...]}.
 */
function recordRanks(record) {
  let ranks = record.ranks;
  if (ranks && !Array.isArray(ranks) && typeof ranks === 'object') ranks = Object.values(ranks);
  assert.ok(Array.isArray(ranks), `raw record without ranks: ${JSON.stringify(record)}`);
  return Array.isArray(ranks[0]) ? ranks[0] : ranks;
}
