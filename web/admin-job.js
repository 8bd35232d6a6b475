// /admin/jobs/<id>: progress, per-annotator counts, agreement, contested items and export; for a
// pairwise (A/B) job also its results (GET .../results), unblinded: the admin may see system names.
import { get, post } from './api.js';
import { startAdminPage } from './admin-page.js';
import { formatDateTime, formatDuration, formatNumber, h, replaceChildren, showMessage } from './dom.js';
import { progressCell, table } from './tables.js';

const $ = (id) => document.getElementById(id);
const jobId = Number((/^\/admin\/jobs\/(\d+)\/?$/.exec(location.pathname) || [])[1] || 0);
const LOW_AGREEMENT = 0.5;
const MAX_ITEMS_SHOWN = 200;

let downloadUrls = [];

function stat(label, value) {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function formatMs(ms) {
  if (ms === null || ms === undefined) return '—';
  const seconds = ms / 1000;
  if (seconds < 60) return `${formatNumber(seconds, 1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

function agreementCell(value) {
  if (value === null || value === undefined) return { value: '—', numeric: true };
  const low = Number(value) < LOW_AGREEMENT;
  return {
    numeric: true,
    className: low ? 'low-agreement' : null,
    node: h('span', {}, formatNumber(value, 2), low ? h('span', { class: 'badge state-low' }, 'low') : null),
  };
}

function renderActions(job) {
  const box = $('job-actions');
  replaceChildren(box);
  if (job.state === 'active' || job.state === 'paused') {
    const action = job.state === 'active' ? 'pause' : 'resume';
    const button = h('button', { type: 'button', class: 'secondary' }, action === 'pause' ? 'Pause job' : 'Resume job');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await post(`/api/admin/jobs/${jobId}/${action}`, {});
        showMessage($('job-status'), action === 'pause' ? 'Job paused.' : 'Job resumed.', 'ok');
        await load();
      } catch (err) {
        button.disabled = false;
        showMessage($('job-status'), err.message);
      }
    });
    box.append(button);
  }
  box.append(h('a', { class: 'button secondary', href: `/admin/jobs/${jobId}/preview` }, 'Preview as annotator'));
}

// docs/label-api.md names both JobSummary's item count and JobStatus's per-item rows `items`;
// the server keeps the count in `items` and sends the rows as `item_agreement`. Both are read.
function itemCount(job) {
  return Array.isArray(job.items) ? job.items.length : job.items;
}

function itemRows(status) {
  if (Array.isArray(status.item_agreement)) return status.item_agreement;
  return Array.isArray(status.items) ? status.items : [];
}

let dimensionCount = 1;

function renderDimensionChoice(dimensions) {
  const field = $('export-dimension-field');
  const select = $('export-dimension');
  dimensionCount = dimensions.length;
  field.hidden = dimensions.length < 2 || $('export-format').value !== 'dpo';
  if (select.childElementCount === dimensions.length) return;
  replaceChildren(select, dimensions.map((name, d) => h('option', { value: String(d), text: name })));
}

function renderProgress(job) {
  const states = { active: 'Active', paused: 'Paused', ended: 'Ended' };
  replaceChildren($('progress-body'),
    progressCell(job.submissions, job.needed,
      `${job.submissions} of ${job.needed} ${job.kind === 'pairwise' ? 'votes' : 'rankings'} · ${job.complete_items} of ${itemCount(job)} items complete`),
    h('dl', { class: 'stats' },
      stat('State', h('span', { class: `badge state-${job.state}` }, states[job.state] || String(job.state))),
      stat('Items', String(itemCount(job))),
      stat('Annotators per item', String(job.annotators_per_item)),
      stat('Time limit per task', formatDuration(job.task_time_limit_s)),
      stat(job.kind === 'pairwise' ? 'Question asked' : 'Ranked by', h('span', { text: (job.dimensions || []).join(', ') || '—' })),
      stat('Ties', job.allow_ties ? 'Allowed' : 'Not allowed'),
      stat('Answers shuffled', job.shuffle ? 'Yes' : 'No'),
      stat('Teams', h('span', { text: (job.teams || []).join(', ') || 'Every annotator' })),
      stat('Created', formatDateTime(job.created_at)),
      stat('Ends', job.expires_at ? formatDateTime(job.expires_at) : 'No end date')));
}

function renderAgreement(agreement) {
  const a = agreement || {};
  replaceChildren($('agreement-body'),
    h('dl', { class: 'stats big' },
      stat('Kendall’s W (mean over items)', formatNumber(a.kendall_w_mean, 3)),
      stat('Pairwise agreement', formatNumber(a.pairwise_agreement, 3)),
      stat('Items with 2+ rankings', String(a.items_with_2plus ?? 0))),
    h('p', { class: 'field-hint' },
      'Both are 1 when annotators agree completely. They need at least two rankings of an item.'));
}

let namesById = new Map();
let namesByEmail = new Map();

// JobStatus's annotator rows may come without names; the annotator list has them.
async function loadNames() {
  try {
    const { annotators } = await get('/api/admin/annotators');
    namesById = new Map(annotators.map((u) => [u.id, u.name]));
    namesByEmail = new Map(annotators.filter((u) => u.email && u.name).map((u) => [u.email, u.name]));
  } catch {
    // Names are a nicety; e-mails still identify people.
  }
}

// A pairwise job's annotators cast votes, and their agreement with the majority is in Results:
// here they get their counts and times only.
function renderPeople(annotators, pairwise) {
  const box = $('people-body');
  $('people-hint').hidden = pairwise;
  if (!annotators || !annotators.length) {
    replaceChildren(box, h('p', { class: 'muted' }, 'Nobody has worked on this job yet.'));
    return;
  }
  const sorted = annotators.slice().sort((x, y) => (y.submissions || 0) - (x.submissions || 0));
  const headers = ['Name', 'Email', { text: pairwise ? 'Votes' : 'Submissions', numeric: true }, { text: 'Skips', numeric: true },
    { text: 'Median time', numeric: true }];
  if (!pairwise) headers.push({ text: 'Agreement with others', numeric: true });
  replaceChildren(box, table('Annotators of this job', headers,
    sorted.map((p) => [
      h('span', { text: p.name || namesById.get(p.id) || p.email || '—' }),
      h('span', { text: p.email || '' }),
      { value: p.submissions ?? 0, numeric: true },
      { value: p.skips ?? 0, numeric: true },
      { value: formatMs(p.median_time_ms), numeric: true },
      pairwise ? null : agreementCell(p.agreement_with_others),
    ].filter((cell) => cell !== null)), { rowHeaders: true }));
}

function formatConsolidated(consolidated) {
  if (!Array.isArray(consolidated) || !consolidated.length) return '—';
  if (consolidated.some((r) => Array.isArray(r) || r === null)) {
    return consolidated.map((r) => (Array.isArray(r) ? r.join(', ') : '—')).join(' | ');
  }
  return consolidated.join(', ');
}

function renderItems(items) {
  const box = $('items-body');
  const ranked = (items || []).filter((it) => it.kendall_w !== null && it.kendall_w !== undefined);
  if (!ranked.length) {
    replaceChildren(box, h('p', { class: 'muted' }, 'No item has two rankings yet.'));
    return;
  }
  ranked.sort((x, y) => x.kendall_w - y.kendall_w ||
    (x.pairwise_agreement ?? 1) - (y.pairwise_agreement ?? 1));
  const shown = ranked.slice(0, MAX_ITEMS_SHOWN);
  replaceChildren(box,
    table('Items, least agreement first',
      ['Item', { text: 'Rankings', numeric: true }, { text: 'Kendall’s W', numeric: true },
        { text: 'Pairwise agreement', numeric: true }, 'Consolidated ranks (by answer index)'],
      shown.map((it) => [
        h('span', { text: it.source_id ?? `#${it.id}` }),
        { value: it.submissions ?? 0, numeric: true },
        agreementCell(it.kendall_w),
        { value: formatNumber(it.pairwise_agreement, 2), numeric: true },
        h('span', { class: 'mono', text: formatConsolidated(it.consolidated) }),
      ]), { rowHeaders: true }),
    ranked.length > shown.length
      ? h('p', { class: 'muted' }, `Showing the ${shown.length} least agreed of ${ranked.length} items.`) : null);
}

async function load() {
  try {
    const [status] = await Promise.all([get(`/api/admin/jobs/${jobId}/status`), loadNames()]);
    document.title = `${status.name} — Tenet labeling admin`;
    $('job-name').textContent = status.name;
    renderActions(status);
    renderProgress(status);
    renderAgreement(status.agreement);
    renderPeople(status.annotators, status.kind === 'pairwise');
    renderItems(itemRows(status));
    renderDimensionChoice(status.dimensions || []);
    await loadResults(status);
  } catch (err) {
    if (err.status === 401) return;
    replaceChildren($('progress-body'));
    showMessage($('job-status'), err.status === 404 ? 'There is no job with this number.' : err.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Results of a pairwise job: systems[1] against systems[0], ties (and "both bad") counting half.

const SIGNIFICANCE = 0.05;

function percent(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return '—';
  return `${Math.round(Number(value) * 100)}%`;
}

function formatP(p) {
  if (p === null || p === undefined || Number.isNaN(Number(p))) return '—';
  if (p < 0.001) return '< 0.001';
  return String(Number(Number(p).toPrecision(2)));
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** Two-sided exact binomial test of k successes in n trials against 1/2 (for position bias). */
function binomialP(k, n) {
  if (!n) return 1;
  let logChoose = 0; // log C(n, i), updated as i goes up
  const probs = [];
  for (let i = 0; i <= n; i++) {
    if (i > 0) logChoose += Math.log((n - i + 1) / i);
    probs.push(Math.exp(logChoose - n * Math.LN2));
  }
  const observed = probs[k] * (1 + 1e-9);
  return Math.min(1, probs.filter((q) => q <= observed).reduce((a, b) => a + b, 0));
}

function verdictSentence(r, wins, losses) {
  const [base, candidate] = r.systems;
  if (!r.votes) return 'No votes yet.';
  const p = r.p_value;
  if (p !== null && p !== undefined && p < SIGNIFICANCE && wins !== losses) {
    return `${wins > losses ? candidate : base} is preferred (p = ${formatP(p)}).`;
  }
  return `No significant difference between ${candidate} and ${base} (p = ${formatP(p)}).`;
}

/** Wins, ties and losses as one bar, each part as wide as its count, and a legend with the counts. */
function outcomeBar(r, wins, ties, losses) {
  const [base, candidate] = r.systems;
  const parts = [
    { outcome: 'win', system: candidate, count: wins, label: `${candidate} better` },
    { outcome: 'tie', system: null, count: ties, label: 'Tie', note: r.both_bad ? `· ${r.both_bad} of them both bad` : null },
    { outcome: 'loss', system: base, count: losses, label: `${base} better` },
  ];
  const total = wins + ties + losses;
  const bar = h('div', {
    class: 'outcome-bar', role: 'img',
    'aria-label': parts.map((part) => `${part.label}: ${part.count}`).join(', '),
  });
  for (const part of parts) {
    if (!part.count) continue;
    const segment = h('span', { class: `outcome outcome-${part.outcome}`, title: `${part.label}: ${part.count}` },
      part.count / total >= 0.06 ? String(part.count) : null);
    segment.style.flexGrow = String(part.count); // CSSOM, not a style attribute: the CSP allows it
    bar.append(segment);
  }
  if (!total) bar.append(h('span', { class: 'outcome outcome-none' }, 'No votes yet'));
  const legend = h('ul', { class: 'outcome-legend', id: 'results-legend' }, parts.map((part) => h('li', {
    dataset: part.system === null ? { outcome: part.outcome } : { outcome: part.outcome, system: part.system },
  },
  h('span', { class: `swatch outcome-${part.outcome}`, 'aria-hidden': 'true' }),
  h('span', { class: 'outcome-name', text: part.label }),
  h('span', { class: 'count', text: String(part.count) }),
  h('span', { class: 'muted', text: total ? `(${percent(part.count / total)})` : '' }),
  part.note ? h('span', { class: 'muted', text: part.note }) : null)));
  return h('div', { class: 'outcomes' }, bar, legend);
}

function renderPositionBias(bias) {
  const b = bias || {};
  const decisive = b.decisive ?? 0;
  const p = binomialP(b.a_wins ?? 0, decisive);
  const flagged = decisive > 0 && p < SIGNIFICANCE;
  return [
    h('h3', {}, 'Position bias'),
    h('dl', { class: 'stats' },
      stat('Answer shown as A won', h('span', {},
        decisive ? `${b.a_wins} of ${plural(decisive, 'decisive vote')} (${percent(b.a_win_rate)})` : 'No decisive votes yet',
        flagged ? h('span', { class: 'badge state-low' }, 'biased') : null)),
      stat('Binomial test against 50%', decisive ? `p = ${formatP(p)}` : '—')),
    h('p', { class: 'field-hint' },
      'Which system is shown as A is drawn at random; around 50% means the side an answer was shown on did not sway the choice.'),
  ];
}

function renderResultAnnotators(annotators) {
  if (!annotators || !annotators.length) return h('p', { class: 'muted' }, 'Nobody has voted yet.');
  const sorted = annotators.slice().sort((x, y) => (y.votes || 0) - (x.votes || 0));
  return h('div', { class: 'table-wrap' }, table('Votes per annotator',
    ['Annotator', 'Email', { text: 'Votes', numeric: true }, { text: 'Agreement with the majority', numeric: true }],
    sorted.map((a) => [
      h('span', { text: namesByEmail.get(a.annotator) || a.annotator || '—' }),
      h('span', { text: a.annotator || '' }),
      { value: a.votes ?? 0, numeric: true },
      agreementCell(a.agreement_with_majority),
    ]), { rowHeaders: true }));
}

function winnerText(vote) {
  if (vote.winner !== null && vote.winner !== undefined) return vote.winner;
  return vote.both_bad ? 'None (both bad)' : 'Tie';
}

function renderQuestionResults(questions) {
  if (!questions || !questions.length) return h('p', { class: 'muted' }, 'No question has a vote yet.');
  const shown = questions.slice(0, MAX_ITEMS_SHOWN);
  return [
    h('ul', { class: 'question-results' }, shown.map((q) => {
      const votes = q.votes || [];
      const split = new Set(votes.map((v) => v.winner ?? '')).size > 1;
      return h('li', {}, h('details', { class: 'question-votes' },
        h('summary', {},
          h('span', { class: 'question-id', text: q.question }),
          h('span', { class: 'question-majority' }, 'Majority: ',
            h('strong', { text: q.majority ?? 'tie' })),
          h('span', { class: 'muted', text: plural(votes.length, 'vote') }),
          split ? h('span', { class: 'badge state-paused' }, 'split') : null),
        table(`Votes on ${q.question}`,
          ['Annotator', 'Winner', 'Shown as A', 'Both bad'],
          votes.map((v) => [
            h('span', { text: v.annotator }),
            h('span', { text: winnerText(v) }),
            h('span', { text: v.shown_a }),
            v.both_bad ? 'Yes' : 'No',
          ]), { rowHeaders: true })));
    })),
    questions.length > shown.length
      ? h('p', { class: 'muted' }, `Showing the first ${shown.length} of ${questions.length} questions.`) : null,
  ];
}

function renderResults(r) {
  const [base, candidate] = r.systems;
  const wins = Number(r.wins?.[candidate] ?? 0);
  const losses = Number(r.wins?.[base] ?? 0);
  const ties = Number(r.ties ?? 0);
  const rate = r.win_rate || {};
  const byQuestion = r.by_question || {};
  const significant = r.votes && r.p_value < SIGNIFICANCE && wins !== losses;
  replaceChildren($('results-body'),
    h('p', { class: `results-verdict${significant ? ' is-significant' : ''}`, id: 'results-verdict', text: verdictSentence(r, wins, losses) }),
    h('p', { class: 'muted', id: 'results-count',
      text: `${plural(r.votes ?? 0, 'vote')} on ${plural((r.questions || []).length, 'question')} by ${plural((r.annotators || []).length, 'annotator')}.` }),
    h('dl', { class: 'stats big' },
      stat(`Win rate of ${candidate} against ${base}`, percent(rate.estimate)),
      stat('95% interval', r.votes ? `${percent(rate.low)} – ${percent(rate.high)}` : '—'),
      stat('Sign test p-value', formatP(r.p_value))),
    h('p', { class: 'field-hint' },
      `Ties and “both bad” count as half a win each. The sign test uses only the votes that picked a side; above 50% means ${candidate} is preferred.`),
    h('h3', {}, 'Votes'),
    outcomeBar(r, wins, ties, losses),
    h('dl', { class: 'stats' },
      stat(`Questions won by ${candidate} (majority)`, String(byQuestion[candidate] ?? 0)),
      stat(`Questions won by ${base} (majority)`, String(byQuestion[base] ?? 0)),
      stat('Questions tied', String(byQuestion.tie ?? 0))),
    renderPositionBias(r.position_bias),
    h('h3', {}, 'Annotators'),
    h('p', { class: 'field-hint' },
      'Agreement with the majority: the share of their votes, on questions with two or more votes, that match the question’s majority (a tie when the votes split evenly). Blank until a question has a second vote.'),
    renderResultAnnotators(r.annotators),
    h('h3', {}, 'Questions'),
    h('p', { class: 'field-hint' }, 'Open a question to see each vote and which system was shown as A.'),
    renderQuestionResults(r.questions));
}

async function loadResults(status) {
  const pairwise = status.kind === 'pairwise';
  if (exportPairwise !== pairwise) {
    exportPairwise = pairwise;
    updateExportFields();
  }
  $('results').hidden = !pairwise;
  $('results-link').hidden = !pairwise;
  // Kendall's W and contested rankings mean nothing for A/B votes: Results has their agreement.
  for (const id of ['agreement', 'items', 'items-link']) $(id).hidden = pairwise;
  if (!pairwise) return;
  try {
    renderResults(await get(`/api/admin/jobs/${jobId}/results`));
  } catch (err) {
    if (err.status === 401) return;
    replaceChildren($('results-body'), h('p', { class: 'message', role: 'alert', text: `The results could not be loaded: ${err.message}` }));
  }
}

// ---------------------------------------------------------------------------------------------
// Export: GET .../export returns the files' text; each becomes a Blob download link.

// A pairwise job's DPO export is one pair per question (the majority's choice as chosen; no
// majority, no pair), so the ranking options (pairs per item, ties, Kendall's W) do not apply.
let exportPairwise = false;

function updateExportFields() {
  const dpo = $('export-format').value === 'dpo';
  for (const el of document.querySelectorAll('#export-form .dpo-only')) {
    el.hidden = !dpo;
  }
  // Only a job ranked along several dimensions has a choice to make.
  $('export-dimension-field').hidden = !dpo || dimensionCount < 2;
  for (const el of document.querySelectorAll('#export-form .rank-only')) {
    el.hidden = exportPairwise || (el.classList.contains('dpo-only') && !dpo);
  }
  $('export-pairwise-hint').hidden = !(exportPairwise && dpo);
}

function describeReport(report) {
  if (report === null || report === undefined) return null;
  if (typeof report !== 'object') return h('p', { text: String(report) });
  const rows = Object.entries(report).map(([key, value]) => stat(key.replace(/_/g, ' '),
    h('span', { class: typeof value === 'object' ? 'mono' : null, text: typeof value === 'object' ? JSON.stringify(value) : String(value) })));
  return h('dl', { class: 'stats report' }, rows);
}

async function exportData(event) {
  event.preventDefault();
  const message = $('export-message');
  showMessage(message, '');
  const params = new URLSearchParams({ format: $('export-format').value });
  if ($('export-format').value === 'dpo') {
    const fraction = Number($('export-test').value || 0);
    if (!(fraction >= 0 && fraction < 1)) {
      showMessage(message, 'The test fraction must be from 0 up to (not including) 1.');
      $('export-test').focus();
      return;
    }
    if (!exportPairwise) {
      params.set('pairs', $('export-pairs').value);
      params.set('skip_ties', $('export-skip-ties').checked ? '1' : '0');
    }
    params.set('test_fraction', String(fraction));
    params.set('seed', String(Number($('export-seed').value || 0)));
    if (!$('export-dimension-field').hidden) params.set('dimension', $('export-dimension').value);
  }
  const minAgreement = exportPairwise ? 0 : Number($('export-min-agreement').value || 0);
  if (!(minAgreement >= 0 && minAgreement <= 1)) {
    showMessage(message, 'The minimum agreement must be between 0 and 1.');
    $('export-min-agreement').focus();
    return;
  }
  params.set('min_agreement', String(minAgreement));
  const button = event.submitter || $('export-form').querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const data = await get(`/api/admin/jobs/${jobId}/export?${params}`);
    for (const url of downloadUrls) URL.revokeObjectURL(url);
    downloadUrls = [];
    const files = Object.entries(data.files || {});
    const links = files.map(([name, text]) => {
      const blob = new Blob([text], { type: name.endsWith('.jsonl') || name.endsWith('.manifest') ? 'application/jsonl' : 'text/plain' });
      const url = URL.createObjectURL(blob);
      downloadUrls.push(url);
      const lines = text.split('\n').filter((l) => l.trim()).length;
      return h('li', {},
        h('a', { href: url, download: name, class: 'button secondary', text: `Download ${name}` }),
        h('span', { class: 'muted', text: ` ${lines} ${lines === 1 ? 'line' : 'lines'}, ${formatBytes(blob.size)}` }));
    });
    replaceChildren($('export-result'),
      h('h3', {}, 'Files'),
      links.length ? h('ul', { class: 'downloads' }, links) : h('p', { class: 'muted' }, 'The export has no files.'),
      data.report !== undefined ? [h('h3', {}, 'Report'), describeReport(data.report)] : null);
  } catch (err) {
    if (err.status !== 401) showMessage(message, err.message);
  } finally {
    button.disabled = false;
  }
}

function formatBytes(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${formatNumber(n / 1024, 1)} KB`;
  return `${formatNumber(n / 1024 / 1024, 1)} MB`;
}

async function init() {
  if (!(await startAdminPage($('job-status')))) return;
  if (!jobId) {
    showMessage($('job-status'), 'This address does not name a job.');
    return;
  }
  $('refresh').addEventListener('click', load);
  $('export-format').addEventListener('change', updateExportFields);
  $('export-form').addEventListener('submit', exportData);
  updateExportFields();
  await load();
}

init();
