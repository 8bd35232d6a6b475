// End-to-end test of blind pairwise (A/B) tasks in the labeling portal: the real
// `tenet label serve` and a real browser (Chromium through playwright-core).
//
//   TENET_BIN=build/tenet TENET_ARTIFACTS=/tmp/shots node --test tests/e2e/label_pairwise.test.mjs
//
// A pairwise job with "both bad" is made with the CLI from a comparison.jsonl of three questions
// answered by two systems with distinctive names; one answer carries HTML/script. The admin
// previews it (and signs in with the one-time link the server prints), invites an annotator,
// who judges one item with the mouse ("B is better" and a reason), one with the keyboard (a,
// Enter) and one as both bad (x, Enter). `tenet label results --json` must then hold exactly
// those three votes, unblinded to the right systems, the admin job page's Results section must
// show them too, and no API answer the annotator's browser got may name a system. Screenshots go to TENET_ARTIFACTS. The server is killed at the end.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  closePortal, inviteToNewTeam, newPage, openPortal, portalState, readJsonl, screenshot, tenet, waitForAnswers,
} from './harness.mjs';

// ---- Fixture: three questions, two systems. System names are distinctive so that finding
// them in a response means the blinding leaked; every answer text is unique, so the texts the
// browser shows as A and B map back to their systems.
const SYSTEMS = ['sysAlpha', 'sysBeta'];
const HOSTILE_ANSWER = 'Sure! <img src=x onerror=alert(1)> <script>window.__pwned=1</script>' +
  '<img src=x onerror="window.__pwned=1"> That is all.';
const QUESTIONS = [
  {
    id: 'q1',
    question: 'Can I raise my card limit?',
    system: 'You are Example Bank\'s assistant. Be helpful, honest and polite.',
    answers: {
      sysAlpha: 'No.',
      sysBeta: 'Yes. In the app, open Cards → Limits and ask for a higher limit; we usually answer ' +
        'within two working days.\n\nYou can also call us on 0800 123 456 and we will look at it with you.',
    },
  },
  {
    id: 'q2',
    question: 'Can I close my account online?',
    system: 'You are Example Bank\'s assistant.',
    answers: {
      sysAlpha: HOSTILE_ANSWER,
      sysBeta: 'Yes: sign in, open Settings → Accounts → Close account, and confirm.',
    },
  },
  {
    id: 'q3',
    question: 'I lost my debit card. What now?',
    system: 'You are Example Bank\'s assistant.',
    answers: {
      sysAlpha: 'Lost cards are not our problem. Good luck!',
      sysBeta: 'Cards get lost all the time. Have you tried looking under the sofa?',
    },
  },
];
const INSTRUCTIONS = [
  '# Which answer is better?',
  '',
  'Pick the answer that is more **helpful** and *honest*. Choose **Tie** when they are equally',
  'good, and **Both bad** when neither is acceptable.',
  '',
].join('\n');

const state = portalState(); // its problems also hold every alert or other dialog a page opened
const PAGE = { viewport: { width: 1280, height: 1100 }, dialogs: true }; // newPage's options
const NARROW_PAGE = { ...PAGE, viewport: { width: 400, height: 900 } };

/** The two answers on screen: [{letter, text, system, question}] in display order (A, B). */
async function readPair(page) {
  const shown = await page.$$eval('.pair > .pair-answer', (cards) => cards.map((card) => ({
    letter: card.dataset.letter,
    title: card.querySelector('.card-title').textContent,
    text: card.querySelector('.answer-text').textContent,
  })));
  assert.equal(shown.length, 2, 'a pairwise task shows two answers');
  assert.deepEqual(shown.map((a) => a.letter), ['A', 'B']);
  assert.deepEqual(shown.map((a) => a.title), ['Answer A', 'Answer B']);
  return shown.map((answer) => {
    const question = QUESTIONS.find((q) => Object.values(q.answers).includes(answer.text));
    assert.ok(question, `the shown answer is one of the fixture's: ${answer.text}`);
    const system = Object.keys(question.answers).find((s) => question.answers[s] === answer.text);
    return { ...answer, system, question: question.id };
  });
}

function waitForPair(page, previousTexts = null) {
  return waitForAnswers(page, '.pair > .pair-answer', previousTexts);
}

async function pressed(page) {
  return page.$$eval('.verdict-button', (buttons) => Object.fromEntries(
    buttons.map((b) => [b.dataset.verdict, b.getAttribute('aria-pressed')])));
}

async function assertBlindAndInert(page) {
  assert.equal(await page.evaluate(() => typeof window.__pwned), 'undefined', 'untrusted text ran script');
  assert.equal(await page.locator('main img[src="x"], main script').count(), 0, 'untrusted HTML became elements');
  const html = await page.content();
  for (const system of SYSTEMS) assert.ok(!html.includes(system), `the page names the system ${system}`);
  assert.equal(await page.locator('ol.ranking').count(), 0, 'no ranking list on a pairwise task');
}

describe('labeling portal: blind pairwise tasks (real server, real browser)', () => {
  before(async () => {
    state.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenet-e2e-pairwise-'));
    state.db = path.join(state.dir, 'labels.db');
    const comparison = path.join(state.dir, 'comparison.jsonl');
    fs.writeFileSync(comparison, `${QUESTIONS.map((q) => JSON.stringify({
      id: q.id,
      question: q.question,
      messages: [{ role: 'system', content: q.system }, { role: 'user', content: q.question }],
      answers: SYSTEMS.map((system) => ({ system, samples: [{ text: q.answers[system] }] })),
    })).join('\n')}\n`);
    const instructions = path.join(state.dir, 'instructions.md');
    fs.writeFileSync(instructions, INSTRUCTIONS);
    // The command as the docs give it (a pairwise job allows ties by itself).
    await tenet('label', 'job', 'create', '--db', state.db, '--name', 'ab', '--pairwise', comparison,
      '--instructions', instructions, '--annotators-per-item', '2', '--offer-both-bad');
    await openPortal(state, PAGE);
  });

  after(() => closePortal(state, 'label-serve-pairwise.stderr.txt'));

  test('admin preview of a pairwise job: A/B view, stacked on a narrow screen, no submit', async () => {
    const { page } = state.admin;
    await page.goto(`${state.origin}/admin`);
    const jobLink = page.getByRole('link', { name: 'ab', exact: true });
    await jobLink.waitFor();
    const jobPath = new URL(await jobLink.getAttribute('href'), state.origin).pathname;

    const narrow = await newPage(state, NARROW_PAGE);
    try {
      // The admin's session cookie, in a second (narrow) context.
      await narrow.context.addCookies(await state.admin.context.cookies());
      await narrow.page.goto(`${state.origin}${jobPath}/preview`);
      await waitForPair(narrow.page);
      await assertBlindAndInert(narrow.page);
      const boxes = await narrow.page.$$eval('.pair > .pair-answer', (cards) => cards.map((c) => {
        const r = c.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      }));
      assert.ok(boxes[1].y >= boxes[0].y + boxes[0].height - 1, 'answers are stacked on a narrow screen');
      assert.ok(await narrow.page.locator('#submit').isDisabled(), 'preview cannot submit');
      await narrow.page.keyboard.press('b');
      assert.equal((await pressed(narrow.page)).B, 'true', 'the b key chooses in the preview too');
      await narrow.page.locator('#live').filter({ hasText: 'Chosen: B is better.' }).waitFor();
      assert.ok(await narrow.page.locator('#submit').isDisabled(), 'preview still cannot submit');
      // In the "Why?" box keys are text, and Ctrl+Enter is the submit key.
      await narrow.page.locator('#comment').fill('');
      await narrow.page.locator('#comment').press('x');
      assert.equal((await pressed(narrow.page)).B, 'true', 'x typed in the box does not choose');
      await narrow.page.locator('#comment').press('Control+Enter');
      await narrow.page.locator('#live').filter({ hasText: 'Submitting is off in the preview.' }).waitFor();
      assert.equal(await narrow.page.locator('#comment').inputValue(), 'x');
      await screenshot(narrow.page, 'pairwise-preview-narrow.png');
    } finally {
      await narrow.context.close();
    }

    await page.goto(`${state.origin}${jobPath}/preview`);
    await waitForPair(page);
    const boxes = await page.$$eval('.pair > .pair-answer', (cards) => cards.map((c) => {
      const r = c.getBoundingClientRect();
      return { x: r.x, y: r.y };
    }));
    assert.ok(boxes[1].x > boxes[0].x && Math.abs(boxes[1].y - boxes[0].y) < 2, 'answers side by side on a wide screen');
    await assertBlindAndInert(page);
  });

  test('judge by mouse, by keyboard and as both bad; results match exactly; nothing leaks', async () => {
    const annotator = await newPage(state, PAGE);
    const apiBodies = []; // [url, body promise] of every /api/ response the annotator's browser got
    annotator.page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/api/')) {
        apiBodies.push([response.url(), response.text().catch((err) => `<unreadable: ${err.message}>`)]);
      }
    });
    try {
      // ---- Admin: team and invitation through the admin page.
      const link = await inviteToNewTeam(state, 'ab-team', 'bo@example.com');

      // ---- Annotator: accept, then start the job from the queue.
      const { page } = annotator;
      await page.goto(link);
      await page.getByLabel('Your name').fill('Bo Annotator');
      await page.getByLabel('Choose a password').fill('correct-horse-42');
      await page.getByLabel('Type the password again').fill('correct-horse-42');
      await page.getByRole('button', { name: 'Create my account' }).click();
      await page.waitForURL(`${state.origin}/`);
      const jobCard = page.locator('.job-card', { hasText: 'ab' });
      await jobCard.getByText('3 items').waitFor();
      await jobCard.getByRole('link', { name: 'Start' }).click();
      await page.waitForURL(/\/task\/\d+$/);
      await waitForPair(page);

      const expected = new Map(); // question id → {winner, shown_a, both_bad}
      let sawHostile = false;
      const check = async () => {
        const pair = await readPair(page);
        if (pair.some((a) => a.text === HOSTILE_ANSWER)) sawHostile = true;
        await assertBlindAndInert(page);
        return pair;
      };

      // ---- Item 1: the mouse. "B is better", a reason, Submit.
      const first = await check();
      assert.equal(await page.locator('#pairwise-heading').textContent(), 'Which answer is better?');
      await page.locator('.system-message > summary').filter({ hasText: 'system message' }).waitFor();
      assert.equal(await page.locator('.system-message').getAttribute('open'), null, 'the system message starts collapsed');
      assert.ok(await page.locator('#submit').isDisabled(), 'no submit before a choice');
      assert.deepEqual(await pressed(page), { A: 'false', B: 'false', tie: 'false', both_bad: 'false' });
      for (const name of ['A is better', 'B is better', 'Tie', 'Both bad']) {
        await page.getByRole('button', { name, exact: true }).waitFor();
      }
      await page.locator('#choice-help kbd', { hasText: 'X' }).waitFor();
      await screenshot(page, 'pairwise-task.png');

      await page.getByRole('button', { name: 'B is better', exact: true }).click();
      await page.locator('#live').filter({ hasText: 'Chosen: B is better.' }).waitFor();
      assert.deepEqual(await pressed(page), { A: 'false', B: 'true', tie: 'false', both_bad: 'false' });
      assert.ok(await page.locator('#submit').isEnabled(), 'submit once a choice is made');
      // Typing the reason must not change the choice, though it has a, b, t and x in it.
      const reason = 'B explains the steps; A is too terse <b>to act on</b>. x';
      await page.getByLabel('Why? (optional)').click();
      await page.keyboard.type(reason);
      assert.deepEqual(await pressed(page), { A: 'false', B: 'true', tie: 'false', both_bad: 'false' },
        'keys typed in the reason box do not choose');
      // Plain Enter in the box is a new line, not a submit.
      await page.keyboard.press('Enter');
      assert.equal(await page.locator('#comment').inputValue(), `${reason}\n`);
      await page.keyboard.press('Backspace');
      await screenshot(page, 'pairwise-chosen.png');
      expected.set(first[0].question, { winner: first[1].system, shown_a: first[0].system, both_bad: false });
      const nextAfterFirst = page.waitForResponse((r) => r.url().endsWith('/next') && r.request().method() === 'POST');
      await page.getByRole('button', { name: 'Submit choice' }).click();
      await nextAfterFirst;
      await waitForPair(page, first.map((a) => a.text));
      await page.locator('#page-status').filter({ hasText: 'your choice was saved' }).waitFor();

      // ---- Item 2: the keyboard. a, Enter.
      const second = await check();
      assert.ok(await page.locator('#submit').isDisabled(), 'a new item starts without a choice');
      assert.equal(await page.locator('#comment').inputValue(), '', 'a new item starts without a reason');
      await page.keyboard.press('Enter');
      await page.locator('#live').filter({ hasText: 'Not submitted: choose which answer is better first.' }).waitFor();
      await page.keyboard.press('a');
      await page.locator('#live').filter({ hasText: 'Chosen: A is better.' }).waitFor();
      assert.deepEqual(await pressed(page), { A: 'true', B: 'false', tie: 'false', both_bad: 'false' });
      await page.keyboard.press('t');
      assert.equal((await pressed(page)).tie, 'true', 't chooses a tie');
      await page.keyboard.press('a');
      assert.deepEqual(await pressed(page), { A: 'true', B: 'false', tie: 'false', both_bad: 'false' });
      expected.set(second[0].question, { winner: second[0].system, shown_a: second[0].system, both_bad: false });
      const nextAfterSecond = page.waitForResponse((r) => r.url().endsWith('/next') && r.request().method() === 'POST');
      await page.keyboard.press('Enter');
      await nextAfterSecond;
      await waitForPair(page, second.map((a) => a.text));

      // ---- Item 3: both bad. x, Enter.
      const third = await check();
      await page.keyboard.press('x');
      await page.locator('#live').filter({ hasText: 'Chosen: Both bad.' }).waitFor();
      assert.deepEqual(await pressed(page), { A: 'false', B: 'false', tie: 'false', both_bad: 'true' });
      assert.equal(await page.locator('.pair-answer[data-mark="bad"]').count(), 2, 'both answers marked bad');
      await screenshot(page, 'pairwise-both-bad.png');
      expected.set(third[0].question, { winner: null, shown_a: third[0].system, both_bad: true });
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'All done' }).waitFor();
      await screenshot(page, 'pairwise-all-done.png');

      assert.ok(sawHostile, 'the hostile answer was shown, as literal text');
      assert.deepEqual([...expected.keys()].sort(), ['q1', 'q2', 'q3'], 'each question judged once');

      // ---- The unblinded results hold exactly those three votes.
      const { stdout } = await tenet('label', 'results', '--db', state.db, '--job', 'ab', '--json');
      const results = JSON.parse(stdout);
      assert.equal(results.jobs.length, 1);
      const job = results.jobs[0];
      assert.equal(job.votes, 3, 'three votes in all');
      const got = new Map();
      for (const question of job.questions) {
        for (const vote of question.votes) {
          assert.ok(!got.has(question.question), `one vote for ${question.question}`);
          got.set(question.question, vote);
        }
      }
      assert.deepEqual([...got.keys()].sort(), ['q1', 'q2', 'q3']);
      for (const [id, want] of expected) {
        assert.deepEqual(got.get(id), { annotator: 'bo@example.com', ...want }, `the vote on ${id}`);
      }

      // ---- The admin job page shows the same three votes, unblinded, as a Results section.
      const admin = state.admin.page;
      await admin.goto(`${state.origin}/admin`);
      await admin.getByRole('link', { name: 'ab', exact: true }).click();
      await admin.waitForURL(/\/admin\/jobs\/\d+$/);
      const resultsBox = admin.locator('#results');
      await resultsBox.locator('#results-count').filter({ hasText: '3 votes on 3 questions by 1 annotator.' }).waitFor();
      assert.ok(await resultsBox.isVisible(), 'a pairwise job has a Results section');
      const [baseSystem, candidateSystem] = job.systems;
      const winsOf = (system) => [...expected.values()].filter((v) => v.winner === system).length;
      const tiesExpected = [...expected.values()].filter((v) => v.winner === null).length;
      const legendCount = (selector) => resultsBox.locator(`#results-legend li${selector} .count`).textContent();
      assert.equal(await legendCount(`[data-outcome="win"][data-system="${candidateSystem}"]`), String(winsOf(candidateSystem)));
      assert.equal(await legendCount(`[data-outcome="loss"][data-system="${baseSystem}"]`), String(winsOf(baseSystem)));
      assert.equal(await legendCount('[data-outcome="tie"]'), String(tiesExpected));
      assert.equal(winsOf(candidateSystem) + winsOf(baseSystem) + tiesExpected, 3);
      // With at most two decisive votes no side can be significant.
      assert.match(await resultsBox.locator('#results-verdict').textContent(), /^No significant difference/);
      // Per question, a drill-down to the vote: who, the winner and which system was A.
      const questionRows = resultsBox.locator('.question-results > li');
      assert.equal(await questionRows.count(), 3, 'one row per question');
      for (const [id, want] of expected) {
        const row = questionRows.filter({ has: admin.locator('.question-id', { hasText: id }) });
        await row.locator('summary').click();
        const cells = await row.locator('tbody tr').first().locator('th, td').allTextContents();
        assert.deepEqual(cells, ['bo@example.com', want.winner ?? 'None (both bad)', want.shown_a, want.both_bad ? 'Yes' : 'No'],
          `the admin page's vote on ${id}`);
      }
      await resultsBox.locator('.data', { hasText: 'bo@example.com' }).first().waitFor();
      // The Annotators section counts votes (agreement is in Results); Export offers what applies
      // to A/B votes: one pair per question with a majority.
      const peopleHeaders = await admin.locator('#people-body thead th').allTextContents();
      assert.deepEqual(peopleHeaders, ['Name', 'Email', 'Votes', 'Skips', 'Median time']);
      assert.ok(await admin.locator('#people-hint').isHidden(), 'no ranking-agreement hint on an A/B job');
      await admin.locator('#export-pairwise-hint').waitFor();
      for (const id of ['#export-pairs', '#export-min-agreement', '#export-skip-ties', '#export-dimension']) {
        assert.ok(await admin.locator(id).isHidden(), `${id} is a ranking option`);
      }
      await admin.locator('#export-test').fill('0');
      await admin.getByRole('button', { name: 'Export' }).click();
      const exported = admin.locator('#export-result');
      await exported.filter({ hasText: 'train pairs' }).waitFor();
      const decisive = winsOf(candidateSystem) + winsOf(baseSystem);
      assert.match(await exported.textContent(), new RegExp(`train pairs\\s*${decisive}\\b`));
      await screenshot(admin, 'pairwise-admin-results.png');

      // ---- The reason went in as the submission's comment, as typed.
      const rawFile = path.join(state.dir, 'raw.jsonl');
      await tenet('label', 'export', '--db', state.db, '--job', 'ab', '--format', 'raw', '--out', rawFile);
      const raw = readJsonl(rawFile);
      assert.equal(raw.length, 3, 'three annotations in the raw export');
      const comments = Object.fromEntries(raw.map((r) => [r.source_id, r.comment]));
      assert.deepEqual(comments, { [first[0].question]: reason, [second[0].question]: '', [third[0].question]: '' });

      // ---- No API answer the annotator's browser got names a system.
      assert.ok(apiBodies.some(([url]) => url.endsWith('/next')), 'the browser fetched tasks');
      for (const [url, bodyPromise] of apiBodies) {
        const body = await bodyPromise;
        for (const system of SYSTEMS) {
          assert.ok(!body.includes(system), `the response of ${url} names the system ${system}: ${body}`);
        }
      }
      const nextBodies = await Promise.all(apiBodies.filter(([url]) => url.endsWith('/next')).map(([, b]) => b));
      assert.ok(nextBodies.some((b) => JSON.parse(b).task && JSON.parse(b).task.job.kind === 'pairwise'));
    } catch (err) {
      await screenshot(annotator.page, 'failure-pairwise-annotator.png').catch(() => {});
      throw err;
    } finally {
      await annotator.context.close();
    }
  });

  test('the admin creates a blind A/B job in the admin page from a comparison file', async () => {
    const { page } = state.admin;
    await page.goto(`${state.origin}/admin#new-job`);
    const form = page.locator('#job-form');
    await form.getByLabel('Blind A/B').check();
    assert.ok(await page.locator('#job-dimensions').isHidden(), 'no ranking criteria for an A/B job');
    assert.ok(await page.locator('#job-ties').isHidden(), 'ties are always allowed in an A/B job');
    await form.getByLabel('Name').fill('ab-web');
    await form.getByLabel('Question asked').fill('Which answer would our bank give?');
    await form.getByLabel('Offer “both bad”').check();
    // A file of one system's answers is not a comparison: the server's error shows, nothing is made.
    const wrong = path.join(state.dir, 'not-a-comparison.jsonl');
    fs.writeFileSync(wrong, `${JSON.stringify({ id: 'q1', messages: [{ role: 'user', content: 'Q' }], responses: ['a', 'b'] })}\n`);
    await page.locator('#job-responses').setInputFiles(wrong);
    await page.locator('#job-responses-info').filter({ hasText: '1 line read' }).waitFor();
    await form.getByRole('button', { name: 'Create job' }).click();
    await page.locator('#job-message').filter({ hasText: 'exactly two systems' }).waitFor();
    await page.locator('#job-responses').setInputFiles(path.join(state.dir, 'comparison.jsonl'));
    await page.locator('#job-responses-info').filter({ hasText: '3 lines read' }).waitFor();
    await screenshot(page, 'pairwise-admin-create.png');
    await form.getByRole('button', { name: 'Create job' }).click();
    await page.locator('#job-message').filter({ hasText: 'Created “ab-web” with 3 items.' }).waitFor();
    const row = page.locator('#jobs-table tr', { has: page.getByRole('link', { name: 'ab-web', exact: true }) });
    assert.match(await row.textContent(), /blind A\/B · 3 questions · 3 per item/);
    assert.match(await row.textContent(), /“both bad” offered/);
    assert.ok(await page.locator('#job-dimensions').isVisible(), 'the form is back to a ranking job');
    const { jobs } = await (await page.request.get(`${state.origin}/api/admin/jobs`)).json();
    const job = jobs.find((j) => j.name === 'ab-web');
    assert.equal(job.kind, 'pairwise');
    assert.deepEqual(job.dimensions, ['Which answer would our bank give?']);
    assert.equal(job.offer_both_bad, true);
  });

  test('no page had an uncaught error, a CSP violation or an alert', () => {
    assert.deepEqual(state.problems, []);
  });
});
