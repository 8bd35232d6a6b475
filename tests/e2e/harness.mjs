// What the browser end-to-end tests (tests/e2e/*.test.mjs) share: the paths and settings they
// take from the environment, headless Chromium through playwright-core (installed in
// tests/node), the `tenet` CLI, and for the labeling portal's tests a `tenet label serve` on a
// free port with an admin signed in through the one-time link it prints. The portal helpers
// take the test file's `state` (from portalState()) and keep the server, the browser and the
// problems every page met in it.
//
//   TENET_BIN       the tenet binary (default build/tenet)
//   TENET_ARTIFACTS where screenshots and the server's stderr go (default a folder in the temp dir)
//   TENET_CHROMIUM  the Chromium to drive (default /usr/bin/chromium)
//   TENET_E2E_KEEP  set: keep the portal's work folder (database, exports) after the test

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
const requireFromNode = createRequire(path.join(repoRoot, 'tests', 'node', 'package.json'));
const { chromium } = requireFromNode('playwright-core');
export const execFileAsync = promisify(execFile);

export const TENET_BIN = process.env.TENET_BIN || path.join(repoRoot, 'build', 'tenet');
export const ARTIFACTS = process.env.TENET_ARTIFACTS || path.join(os.tmpdir(), 'tenet-e2e-artifacts');
export const CHROMIUM = process.env.TENET_CHROMIUM || '/usr/bin/chromium';

/** Headless Chromium (playwright-core's Browser). */
export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
}

/** Runs `tenet ...args` (at most 60 s); resolves to {stdout, stderr}, throws with both on failure. */
export async function tenet(...args) {
  try {
    return await execFileAsync(TENET_BIN, args, { encoding: 'utf8', timeout: 60_000 });
  } catch (err) {
    throw new Error(`tenet ${args.join(' ')} failed (exit ${err.code}):\n${err.stdout || ''}${err.stderr || ''}`);
  }
}

/** Saves a full-page screenshot of `page` as ARTIFACTS/name. */
export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}

/** The records of a JSON Lines file (blank lines skipped). */
export function readJsonl(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/**
 * A portal test's state. The test sets `dir` (its work folder) and `db` before openPortal();
 * the server, if still running when the process exits, is killed then, pass or fail.
 */
export function portalState() {
  const state = {
    dir: null,
    db: null,
    server: null,
    serverLog: '',
    origin: null,
    signinLink: null,
    browser: null,
    admin: null, // the admin's browser context and page, signed in once with the one-time link
    problems: [], // uncaught page errors and CSP violations (and dialogs, if asked), from every page
  };
  process.on('exit', () => {
    if (state.server && state.server.exitCode === null) state.server.kill('SIGKILL');
  });
  return state;
}

/**
 * Starts `tenet label serve` on state.db and a free port; resolves once it has printed its
 * address (state.origin) and the admin's one-time sign-in link (state.signinLink). Its stderr
 * collects in state.serverLog.
 */
export function startServer(state) {
  return new Promise((resolve, reject) => {
    const server = spawn(TENET_BIN, ['label', 'serve', '--db', state.db, '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    state.server = server;
    let stdout = '';
    const timer = setTimeout(() => {
      reject(new Error(`tenet label serve did not print its address in 30 s.\nstdout:\n${stdout}\nstderr:\n${state.serverLog}`));
    }, 30_000);
    const check = () => {
      const listening = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      const signin = /admin sign-in link \(one-time\): (http:\/\/\S+\/signin\/\S+)/.exec(stdout);
      if (listening && signin) {
        clearTimeout(timer);
        state.origin = listening[1];
        state.signinLink = signin[1];
        resolve();
      }
    };
    server.stdout.setEncoding('utf8');
    server.stderr.setEncoding('utf8');
    server.stdout.on('data', (chunk) => {
      stdout += chunk;
      check();
    });
    server.stderr.on('data', (chunk) => {
      state.serverLog += chunk;
    });
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`tenet label serve exited early (${code ?? signal}).\nstdout:\n${stdout}\nstderr:\n${state.serverLog}`));
    });
    server.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Stops the server with SIGTERM (SIGKILL after 5 s); resolves once it has exited. */
export function stopServer(state) {
  const server = state.server;
  state.server = null;
  if (!server || server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => server.kill('SIGKILL'), 5000);
    server.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    server.kill('SIGTERM');
  });
}

/**
 * A new browser context and page ({context, page}) in state.browser. Uncaught page errors and
 * CSP violations go to state.problems; with `dialogs`, so does every dialog (which is dismissed).
 */
export async function newPage(state, { viewport, dialogs = false }) {
  const context = await state.browser.newContext({ viewport, locale: 'en-GB' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => state.problems.push(`${page.url()}: uncaught ${err.message}`));
  if (dialogs) {
    page.on('dialog', (dialog) => {
      state.problems.push(`${page.url()}: a ${dialog.type()} dialog opened: ${dialog.message()}`);
      dialog.dismiss().catch(() => {});
    });
  }
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && /Content[- ]Security[- ]Policy|Refused to/i.test(text)) {
      state.problems.push(`${page.url()}: ${text}`);
    }
  });
  return { context, page };
}

/**
 * Starts the server and the browser, and signs the admin in (state.admin, a page made with
 * newPage(state, pageOptions)) with the one-time link, as far as the admin page.
 */
export async function openPortal(state, pageOptions) {
  await startServer(state);
  state.browser = await launchBrowser();
  state.admin = await newPage(state, pageOptions);
  await state.admin.page.goto(state.signinLink);
  await state.admin.page.waitForURL((url) => url.pathname === '/admin');
}

/**
 * Closes the browser and stops the server, pass or fail; saves the server's stderr, if any, as
 * ARTIFACTS/serverLogName, and removes state.dir unless TENET_E2E_KEEP is set.
 */
export async function closePortal(state, serverLogName) {
  try {
    if (state.browser) await state.browser.close();
  } finally {
    await stopServer(state);
    if (state.serverLog.trim()) fs.mkdirSync(ARTIFACTS, { recursive: true });
    if (state.serverLog.trim()) fs.writeFileSync(path.join(ARTIFACTS, serverLogName), state.serverLog);
    if (state.dir && !process.env.TENET_E2E_KEEP) fs.rmSync(state.dir, { recursive: true, force: true });
  }
}

/**
 * In the signed-in admin's page: creates the team `team` and an invitation of `email` to it;
 * returns the invitation link (checked to be a full link on state.origin).
 */
export async function inviteToNewTeam(state, team, email) {
  const { page } = state.admin;
  await page.goto(`${state.origin}/admin`);
  await page.getByLabel('New team name').fill(team);
  await page.getByRole('button', { name: 'Create team' }).click();
  await page.locator('.team-list h3', { hasText: team }).waitFor();
  await page.locator('#invite-email').fill(email);
  await page.locator('#invite-team').selectOption(team);
  await page.getByRole('button', { name: 'Create invitation' }).click();
  await page.locator('#invite-result').waitFor();
  const link = await page.locator('#invite-link').inputValue();
  assert.ok(link.startsWith(`${state.origin}/invite/`), `full invitation link, got ${link}`);
  return link;
}

/**
 * Waits for the answer cards (`cards`, a selector; each holds an .answer-text) of a task and,
 * given the texts of the task before, until the first card is none of them: the next task.
 */
export async function waitForAnswers(page, cards, previousTexts = null) {
  await page.locator(cards).first().waitFor();
  if (previousTexts) {
    await page.waitForFunction(([selector, old]) => {
      const first = document.querySelector(selector);
      return first && !old.includes(first.textContent);
    }, [`${cards} .answer-text`, previousTexts]);
  }
}
