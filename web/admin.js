// /admin: jobs (list, progress, pause/resume, create), teams, invitations and annotators.
// Job names, team names, e-mails and user names are untrusted text: textContent only.
import { get, post } from './api.js';
import { startAdminPage } from './admin-page.js';
import { formatDateTime, formatDuration, h, replaceChildren, showMessage } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { progressCell, table } from './tables.js';

const $ = (id) => document.getElementById(id);

let teams = [];

// ---------------------------------------------------------------------------------------------
// Jobs

function stateBadge(state) {
  const labels = { active: 'Active', paused: 'Paused', ended: 'Ended' };
  return h('span', { class: `badge state-${state}` }, labels[state] || String(state));
}

async function setJobState(job, action, button) {
  button.disabled = true;
  try {
    await post(`/api/admin/jobs/${job.id}/${action}`, {});
    showMessage($('jobs-message'), `${action === 'pause' ? 'Paused' : 'Resumed'} “${job.name}”.`, 'ok');
    await loadJobs();
  } catch (err) {
    button.disabled = false;
    showMessage($('jobs-message'), err.message);
  }
}

function renderJobs(jobs) {
  if (!jobs.length) {
    replaceChildren($('jobs-table'), h('p', { class: 'muted' }, 'No jobs yet. Create one below.'));
    return;
  }
  const rows = jobs.map((job) => {
    const actions = h('div', { class: 'row-actions' });
    if (job.state === 'active' || job.state === 'paused') {
      const action = job.state === 'active' ? 'pause' : 'resume';
      const button = h('button', {
        type: 'button', class: 'secondary small', 'aria-label': `${action === 'pause' ? 'Pause' : 'Resume'} ${job.name}`,
      }, action === 'pause' ? 'Pause' : 'Resume');
      button.addEventListener('click', () => setJobState(job, action, button));
      actions.append(button);
    }
    actions.append(h('a', { href: `/admin/jobs/${job.id}/preview`, class: 'small', 'aria-label': `Preview ${job.name}` }, 'Preview'));
    const pairwise = job.kind === 'pairwise';
    const details = [
      pairwise ? 'blind A/B' : null,
      `${job.items} ${pairwise ? 'questions' : 'items'}`,
      `${job.annotators_per_item} per item`,
      `${formatDuration(job.task_time_limit_s)} per task`,
      job.allow_ties && !pairwise ? 'ties allowed' : null,
      job.offer_both_bad ? '“both bad” offered' : null,
      job.expires_at ? `ends ${formatDateTime(job.expires_at)}` : null,
    ].filter(Boolean).join(' · ');
    return [
      h('div', {},
        h('a', { href: `/admin/jobs/${job.id}`, class: 'job-link', text: job.name }),
        h('div', { class: 'muted small-text', text: details }),
        job.teams && job.teams.length
          ? h('div', { class: 'muted small-text', text: `Teams: ${job.teams.join(', ')}` }) : null),
      stateBadge(job.state),
      progressCell(job.submissions, job.needed,
        `${job.submissions} of ${job.needed} ${pairwise ? 'votes' : 'rankings'} · ${job.complete_items} of ${job.items} items complete`),
      actions,
    ];
  });
  replaceChildren($('jobs-table'),
    table('Jobs', ['Job', 'State', 'Progress', 'Actions'], rows, { className: 'jobs' }));
}

async function loadJobs() {
  try {
    const { jobs } = await get('/api/admin/jobs');
    renderJobs(jobs);
  } catch (err) {
    if (err.status !== 401) showMessage($('jobs-message'), err.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Create a job

let responsesText = null;

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error || new Error('The file could not be read.'));
    reader.readAsText(file);
  });
}

async function onResponsesChosen() {
  const input = $('job-responses');
  const info = $('job-responses-info');
  responsesText = null;
  const file = input.files && input.files[0];
  if (!file) {
    info.textContent = '';
    return;
  }
  try {
    responsesText = await readFile(file);
    const lines = responsesText.split('\n').filter((l) => l.trim()).length;
    info.textContent = `${file.name}: ${lines} ${lines === 1 ? 'line' : 'lines'} read.`;
  } catch (err) {
    info.textContent = `Could not read ${file.name}: ${err.message}`;
  }
}

function numberOrNull(input) {
  const text = input.value.trim();
  if (!text) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : NaN;
}

function fieldProblem(input, text) {
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  return text ? { input, text } : null;
}

function jobKind() {
  return $('job-kind-pairwise').checked ? 'pairwise' : 'rank';
}

// Shows the fields of the chosen kind of job: ranking criteria, ties and shuffling for a ranking
// job; the question and "both bad" for a blind A/B job (always shuffled, ties allowed).
function onKindChanged() {
  const pairwise = jobKind() === 'pairwise';
  for (const el of document.querySelectorAll('#job-form .rank-only')) el.hidden = pairwise;
  for (const el of document.querySelectorAll('#job-form .pairwise-only')) el.hidden = !pairwise;
  $('job-responses-label').textContent = pairwise ? 'Comparison file (comparison.jsonl)' : 'Responses file (.jsonl)';
}

async function createJob(event) {
  event.preventDefault();
  const message = $('job-message');
  showMessage(message, '');
  const kind = jobKind();
  const name = $('job-name').value.trim();
  const perItem = numberOrNull($('job-annotators'));
  const minutes = numberOrNull($('job-time-limit'));
  const hours = numberOrNull($('job-lifetime'));
  const problems = [
    fieldProblem($('job-name'), name ? '' : 'Give the job a name.'),
    fieldProblem($('job-responses'), responsesText && responsesText.trim()
      ? '' : kind === 'pairwise' ? 'Choose the comparison file (comparison.jsonl).' : 'Choose the responses file (.jsonl).'),
    fieldProblem($('job-annotators'), Number.isInteger(perItem) && perItem >= 1 && perItem <= 9
      ? '' : 'Annotators per item must be a whole number from 1 to 9.'),
    fieldProblem($('job-time-limit'), Number.isFinite(minutes) && minutes > 0
      ? '' : 'The time limit must be a positive number of minutes.'),
    fieldProblem($('job-lifetime'), hours === null || (Number.isFinite(hours) && hours > 0)
      ? '' : 'Leave “Job ends after” blank, or give a positive number of hours.'),
  ].filter(Boolean);
  if (problems.length) {
    showMessage(message, problems.map((p) => p.text).join(' '));
    problems[0].input.focus();
    return;
  }
  const body = {
    name,
    kind,
    instructions_md: $('job-instructions').value,
    annotators_per_item: perItem,
    task_time_limit_s: Math.round(minutes * 60),
  };
  if (kind === 'pairwise') {
    body.comparison_jsonl = responsesText;
    body.offer_both_bad = $('job-both-bad').checked;
    const question = $('job-question').value.trim();
    if (question) body.dimensions = [question];
  } else {
    body.responses_jsonl = responsesText;
    body.allow_ties = $('job-ties').checked;
    body.shuffle = $('job-shuffle').checked;
    const dimensions = $('job-dimensions').value.split(',').map((d) => d.trim()).filter(Boolean);
    if (dimensions.length) body.dimensions = dimensions;
  }
  if (hours !== null) body.lifetime_s = Math.round(hours * 3600);
  const chosenTeams = [...$('job-teams').selectedOptions].map((o) => o.value);
  if (chosenTeams.length) body.teams = chosenTeams;
  const button = event.submitter || $('job-form').querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const { job } = await post('/api/admin/jobs', body);
    $('job-form').reset();
    onKindChanged();
    responsesText = null;
    $('job-responses-info').textContent = '';
    renderInstructionsPreview();
    showMessage(message, `Created “${job.name}” with ${job.items} items.`, 'ok');
    await loadJobs();
  } catch (err) {
    showMessage(message, err.message);
  } finally {
    button.disabled = false;
  }
}

function renderInstructionsPreview() {
  const preview = $('job-instructions-preview');
  const text = $('job-instructions').value;
  preview.replaceChildren(text.trim()
    ? renderMarkdown(text)
    : h('p', { class: 'muted' }, 'Nothing written yet.'));
}

// ---------------------------------------------------------------------------------------------
// Teams

function memberList(members) {
  if (Array.isArray(members)) {
    if (!members.length) return h('p', { class: 'muted small-text' }, 'No members yet.');
    return h('ul', { class: 'members' }, members.map((m) => h('li', {
      text: typeof m === 'string' ? m : [m.name, m.email && m.name ? `<${m.email}>` : m.email].filter(Boolean).join(' '),
    })));
  }
  const n = Number(members) || 0;
  return h('p', { class: 'muted small-text' }, `${n} ${n === 1 ? 'member' : 'members'}`);
}

function renderTeams() {
  const list = $('teams-list');
  if (!teams.length) {
    replaceChildren(list, h('p', { class: 'muted' }, 'No teams yet. Create one, then invite people into it.'));
  } else {
    replaceChildren(list, h('ul', { class: 'team-list' }, teams.map((team) => h('li', {},
      h('h3', { text: team.name }),
      memberList(team.members)))));
  }
  // The job form's and the invitation form's team choices.
  const jobTeams = $('job-teams');
  const chosen = new Set([...jobTeams.selectedOptions].map((o) => o.value));
  replaceChildren(jobTeams, teams.map((t) => h('option', { value: t.name, selected: chosen.has(t.name), text: t.name })));
  const inviteTeam = $('invite-team');
  const current = inviteTeam.value;
  replaceChildren(inviteTeam,
    teams.map((t) => h('option', { value: t.name, selected: t.name === current, text: t.name })),
    h('option', { value: '', selected: teams.length > 0 && current === '' && inviteTeam.dataset.chosen === 'none' },
      'No team (sees only jobs open to everyone)'));
}

async function loadTeams() {
  try {
    ({ teams } = await get('/api/admin/teams'));
    renderTeams();
  } catch (err) {
    if (err.status !== 401) showMessage($('team-message'), err.message);
  }
}

async function createTeam(event) {
  event.preventDefault();
  const input = $('team-name');
  const name = input.value.trim();
  const message = $('team-message');
  if (!name) {
    input.setAttribute('aria-invalid', 'true');
    showMessage(message, 'Enter a name for the team.');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  try {
    const { team } = await post('/api/admin/teams', { name });
    input.value = '';
    showMessage(message, `Created the team “${team ? team.name : name}”.`, 'ok');
    await loadTeams();
    $('invite-team').value = team ? team.name : name;
  } catch (err) {
    showMessage(message, err.message);
  }
}

// ---------------------------------------------------------------------------------------------
// Invitations

function invitationState(inv) {
  if (inv.used_at) return h('span', { class: 'badge state-used' }, `Used ${formatDateTime(inv.used_at)}`);
  if (inv.expires_at && inv.expires_at * 1000 < Date.now()) return h('span', { class: 'badge state-ended' }, 'Expired');
  return h('span', { class: 'badge state-active' }, 'Open');
}

async function loadInvitations() {
  try {
    const { invitations } = await get('/api/admin/invitations');
    const box = $('invitations-list');
    if (!invitations.length) {
      replaceChildren(box, h('p', { class: 'muted' }, 'No invitations yet.'));
      return;
    }
    const sorted = invitations.slice().sort((a, b) => (b.id || 0) - (a.id || 0));
    replaceChildren(box, table('Invitations', ['Email', 'Team', 'Expires', 'State'],
      sorted.map((inv) => [
        h('span', { text: inv.email }),
        h('span', { text: inv.team || '—' }),
        formatDateTime(inv.expires_at),
        invitationState(inv),
      ]), { className: 'compact' }));
  } catch (err) {
    if (err.status !== 401) showMessage($('invite-message'), err.message);
  }
}

async function createInvitation(event) {
  event.preventDefault();
  const message = $('invite-message');
  showMessage(message, '');
  const email = $('invite-email').value.trim();
  const team = $('invite-team').value;
  const emailOk = /^[^\s@]+@[^\s@]+$/.test(email);
  if (!emailOk) {
    $('invite-email').setAttribute('aria-invalid', 'true');
    showMessage(message, 'Enter the email address of the person to invite.');
    $('invite-email').focus();
    return;
  }
  $('invite-email').removeAttribute('aria-invalid');
  const body = { email };
  if (team) body.team = team;
  const expires = $('invite-expires').value;
  if (expires) body.expires_in_s = Number(expires);
  try {
    const data = await post('/api/admin/invitations', body);
    if (data.added_to_team) {
      // The person already has an account: they joined the team at once, no link needed.
      $('invite-result').hidden = true;
      $('invite-email').value = '';
      showMessage(message, `${email} already has an account and is now in team ${team}.`, 'ok');
      await Promise.all([loadInvitations(), loadTeams()]);
      return;
    }
    const link = new URL(data.link, location.origin).href;
    $('invite-result-email').textContent = email;
    $('invite-link').value = link;
    $('invite-copy-status').textContent = '';
    $('invite-result').hidden = false;
    $('invite-email').value = '';
    $('invite-link').focus();
    $('invite-link').select();
    await loadInvitations();
  } catch (err) {
    showMessage(message, err.message);
  }
}

async function copyLink() {
  const input = $('invite-link');
  const status = $('invite-copy-status');
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = 'Link copied.';
  } catch {
    input.focus();
    input.select();
    status.textContent = 'Press Ctrl+C (⌘C on Mac) to copy the selected link.';
  }
}

// ---------------------------------------------------------------------------------------------
// Annotators

async function setActive(user, activate, button) {
  if (!activate && !window.confirm(`Deactivate ${user.name || user.email}? They are signed out and their open items go back to the pool.`)) {
    return;
  }
  button.disabled = true;
  try {
    await post(`/api/admin/annotators/${user.id}/${activate ? 'activate' : 'deactivate'}`, {});
    showMessage($('annotators-message'), `${activate ? 'Activated' : 'Deactivated'} ${user.name || user.email}.`, 'ok');
    await loadAnnotators();
  } catch (err) {
    button.disabled = false;
    showMessage($('annotators-message'), err.message);
  }
}

async function loadAnnotators() {
  try {
    const { annotators } = await get('/api/admin/annotators');
    const box = $('annotators-table');
    if (!annotators.length) {
      replaceChildren(box, h('p', { class: 'muted' }, 'No annotators yet. Invite people above.'));
      return;
    }
    replaceChildren(box, table('Annotators',
      ['Name', 'Email', 'Teams', 'Submissions', 'Status', 'Action'],
      annotators.map((user) => {
        const activate = !user.active;
        const label = activate ? 'Activate' : 'Deactivate';
        const button = h('button', {
          type: 'button', class: activate ? 'secondary small' : 'danger small',
          'aria-label': `${label} ${user.name || user.email}`,
        }, label);
        button.addEventListener('click', () => setActive(user, activate, button));
        return [
          h('span', { text: user.name || '—' }),
          h('span', { text: user.email }),
          h('span', { text: (user.teams || []).join(', ') || '—' }),
          { value: user.submissions ?? 0, numeric: true },
          h('span', { class: `badge ${user.active ? 'state-active' : 'state-ended'}` }, user.active ? 'Active' : 'Deactivated'),
          user.role === 'admin' ? h('span', { class: 'muted' }, 'Admin') : button,
        ];
      })));
  } catch (err) {
    if (err.status !== 401) showMessage($('annotators-message'), err.message);
  }
}

// ---------------------------------------------------------------------------------------------

async function init() {
  if (!(await startAdminPage($('admin-status')))) return;
  $('jobs-refresh').addEventListener('click', loadJobs);
  $('job-form').addEventListener('submit', createJob);
  $('job-responses').addEventListener('change', onResponsesChosen);
  for (const radio of document.querySelectorAll('input[name="kind"]')) radio.addEventListener('change', onKindChanged);
  $('job-instructions').addEventListener('input', renderInstructionsPreview);
  $('team-form').addEventListener('submit', createTeam);
  $('invite-form').addEventListener('submit', createInvitation);
  $('invite-copy').addEventListener('click', copyLink);
  $('invite-team').addEventListener('change', () => {
    $('invite-team').dataset.chosen = $('invite-team').value ? 'team' : 'none';
  });
  renderInstructionsPreview();
  await Promise.all([loadJobs(), loadTeams(), loadInvitations(), loadAnnotators()]);
  // Progress moves while annotators work: refresh the job list while the page is visible.
  setInterval(() => {
    if (document.visibilityState === 'visible') loadJobs();
  }, 30000);
}

init();
