// /admin/jobs/<id>: progress, per-annotator counts, agreement, contested items and export.
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

function renderDimensionChoice(dimensions) {
  const field = $('export-dimension-field');
  const select = $('export-dimension');
  field.hidden = dimensions.length < 2;
  if (select.childElementCount === dimensions.length) return;
  replaceChildren(select, dimensions.map((name, d) => h('option', { value: String(d), text: name })));
}

function renderProgress(job) {
  const states = { active: 'Active', paused: 'Paused', ended: 'Ended' };
  replaceChildren($('progress-body'),
    progressCell(job.submissions, job.needed,
      `${job.submissions} of ${job.needed} rankings · ${job.complete_items} of ${itemCount(job)} items complete`),
    h('dl', { class: 'stats' },
      stat('State', h('span', { class: `badge state-${job.state}` }, states[job.state] || String(job.state))),
      stat('Items', String(itemCount(job))),
      stat('Annotators per item', String(job.annotators_per_item)),
      stat('Time limit per task', formatDuration(job.task_time_limit_s)),
      stat('Ranked by', h('span', { text: (job.dimensions || []).join(', ') || '—' })),
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

// JobStatus's annotator rows may come without names; the annotator list has them.
async function loadNames() {
  try {
    const { annotators } = await get('/api/admin/annotators');
    namesById = new Map(annotators.map((u) => [u.id, u.name]));
  } catch {
    // Names are a nicety; e-mails still identify people.
  }
}

function renderPeople(annotators) {
  const box = $('people-body');
  if (!annotators || !annotators.length) {
    replaceChildren(box, h('p', { class: 'muted' }, 'Nobody has worked on this job yet.'));
    return;
  }
  const sorted = annotators.slice().sort((x, y) => (y.submissions || 0) - (x.submissions || 0));
  replaceChildren(box, table('Annotators of this job',
    ['Name', 'Email', { text: 'Submissions', numeric: true }, { text: 'Skips', numeric: true },
      { text: 'Median time', numeric: true }, { text: 'Agreement with others', numeric: true }],
    sorted.map((p) => [
      h('span', { text: p.name || namesById.get(p.id) || p.email || '—' }),
      h('span', { text: p.email || '' }),
      { value: p.submissions ?? 0, numeric: true },
      { value: p.skips ?? 0, numeric: true },
      { value: formatMs(p.median_time_ms), numeric: true },
      agreementCell(p.agreement_with_others),
    ]), { rowHeaders: true }));
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
    renderPeople(status.annotators);
    renderItems(itemRows(status));
    renderDimensionChoice(status.dimensions || []);
  } catch (err) {
    if (err.status === 401) return;
    replaceChildren($('progress-body'));
    showMessage($('job-status'), err.status === 404 ? 'There is no job with this number.' : err.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Export: GET .../export returns the files' text; each becomes a Blob download link.

function updateExportFields() {
  const dpo = $('export-format').value === 'dpo';
  for (const el of document.querySelectorAll('#export-form .dpo-only')) {
    el.hidden = !dpo;
  }
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
    params.set('pairs', $('export-pairs').value);
    params.set('test_fraction', String(fraction));
    params.set('seed', String(Number($('export-seed').value || 0)));
    params.set('skip_ties', $('export-skip-ties').checked ? '1' : '0');
    if (!$('export-dimension-field').hidden) params.set('dimension', $('export-dimension').value);
  }
  const minAgreement = Number($('export-min-agreement').value || 0);
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
