// The task page: /task/<job_id> for annotators, /admin/jobs/<job_id>/preview for the admin.
//
// Shows the job's instructions, the question and the N answers, and lets the annotator rank
// the answers per dimension by dragging (pointer events), by single clicks (move up / move down
// buttons; WCAG 2.2 SC 2.5.7) or by keyboard on a focused answer card:
//   1..9            move the answer to that rank position
//   Alt+↑ / Alt+↓   move the answer up / down one place
//   ↑ / ↓, Home/End move focus between answers
//   =               tie with the answer above (when the job allows ties)
//   Enter           submit (once every dimension is ranked)
// Moves are announced in the page's aria-live="polite" region.
//
// Submit sends ranks[d][i] = rank of the answer whose `index` is i (not its screen position),
// competition style with ties (1, 1, 3). Answers, questions, instructions and job names are
// untrusted: text goes in through textContent, instructions through markdown.js.
//
// Jobs of kind "pairwise" get the blind A/B view instead (pairwise.js draws it): two answers
// labelled A and B, verdict buttons, and the keys
//   a / b / t / x   A is better / B is better / tie / both bad (x only where the job offers it;
//                   not while typing in a text box)
//   Enter           submit once a verdict is chosen (in the "Why?" box: Ctrl/Cmd+Enter)
// Submit sends {verdict: "A" | "B" | "tie" | "both_bad", comment, time_spent_ms}; skip, give
// back, next and "all done" are the same as for rankings.

import { ApiError, get, me, post, signOut } from './api.js';
import { formatTime, h, letter, replaceChildren, showMessage } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { Ranking } from './ranking.js';
import { beginDrag } from './drag.js';
import { PairwiseView } from './pairwise.js';

const previewMatch = /^\/admin\/jobs\/(\d+)\/preview\/?$/.exec(location.pathname);
const taskMatch = /^\/task\/(\d+)\/?$/.exec(location.pathname);
const preview = Boolean(previewMatch);
const jobId = Number((previewMatch || taskMatch || [])[1] || 0);

const root = document.getElementById('task-root');
const pageStatus = document.getElementById('page-status');
const live = document.getElementById('live');

/** The task on screen: { task, rankings, dimensions: [{list, cards: Map}], shownAt, ... } */
let current = null;
let leaseTimer = null;
let busy = false;

function announce(message) {
  // Re-setting the same text is not announced again; vary it invisibly.
  live.textContent = live.textContent === message ? `${message}\u00a0` : message;
}

function answerName(answerIndex) {
  return `Answer ${current.letters.get(answerIndex)}`;
}

// ---------------------------------------------------------------------------------------------
// Loading

async function start() {
  document.getElementById('sign-out').addEventListener('click', signOut);
  if (preview) {
    document.body.classList.add('is-preview');
    const back = document.getElementById('back-link');
    back.href = `/admin/jobs/${jobId}`;
    back.textContent = 'Back to the job';
  }
  if (!jobId) {
    showFatal('This address does not name a job. Go back to the queue and press Start.');
    return;
  }
  try {
    await me();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // on the way to /login
    showFatal(err.message);
    return;
  }
  if (preview) {
    try {
      const { task } = await get(`/api/admin/jobs/${jobId}/preview`);
      if (task) renderTask(task);
      else showFatal('This job has no items to preview.');
    } catch (err) {
      if (err.status !== 401) showFatal(err.message);
    }
    return;
  }
  await loadNext();
}

async function loadNext() {
  stopLeaseTimer();
  replaceChildren(root, h('p', { class: 'loading' }, 'Loading the next item…'));
  try {
    const { task } = await post(`/api/jobs/${jobId}/next`, {});
    if (task) renderTask(task);
    else renderDone();
  } catch (err) {
    if (err.status === 401) return;
    const messages = {
      job_paused: 'This job is paused for now. Please come back later.',
      job_ended: 'This job has ended. Thank you for your work on it.',
      forbidden: 'This job is not open to you.',
      job_unknown: 'There is no such job. Go back to the queue and pick one there.',
    };
    showFatal(messages[err.code] || err.message);
  }
}

function showFatal(message) {
  stopLeaseTimer();
  current = null;
  replaceChildren(root,
    h('div', { class: 'panel notice', role: 'alert' },
      h('p', {}, message),
      h('p', {}, h('a', { href: preview ? `/admin/jobs/${jobId}` : '/', class: 'button' },
        preview ? 'Back to the job' : 'Back to the queue'))));
}

function renderDone() {
  stopLeaseTimer();
  const jobName = current ? current.task.job.name : null;
  current = null;
  document.title = 'All done — Tenet labeling';
  const heading = h('h1', { tabindex: '-1' }, 'All done');
  replaceChildren(root,
    h('section', { class: 'panel done', 'aria-labelledby': 'done-heading' },
      Object.assign(heading, { id: 'done-heading' }),
      h('p', {}, jobName
        ? ['There are no more items for you in ', h('strong', { text: jobName }), '. Thank you!']
        : 'There are no more items for you in this job. Thank you!'),
      h('p', {}, h('a', { href: '/', class: 'button primary' }, 'Back to the queue'))));
  heading.focus();
  announce('All done. There are no more items for you in this job.');
}

// ---------------------------------------------------------------------------------------------
// Rendering a task

function renderTask(task) {
  stopLeaseTimer();
  if (task.job && task.job.kind === 'pairwise') {
    renderPairwiseTask(task);
    return;
  }
  const answers = task.answers || [];
  const dimensions = task.job.dimensions && task.job.dimensions.length
    ? task.job.dimensions : ['Ranking'];
  current = {
    task,
    letters: new Map(answers.map((answer, position) => [answer.index, letter(position)])),
    texts: new Map(answers.map((answer) => [answer.index, answer.text])),
    rankings: dimensions.map(() => new Ranking(answers.map((a) => a.index), task.job.allow_ties)),
    dimensionNames: dimensions,
    views: [],
    shownAt: performance.now(),
  };
  document.title = `${task.job.name} — Tenet labeling`;

  const main = h('div', { class: 'task-main' },
    renderQuestion(task.messages || []),
    dimensions.map((name, d) => renderDimension(name, d, answers)),
    renderSubmitArea());

  // The job's title comes first (h1), then the instructions beside the task.
  replaceChildren(root, renderTaskBar(task),
    h('div', { class: 'task-layout' }, renderInstructions(task.job), main));
  current.views.forEach((_, d) => updateDimension(d));
  updateSubmitState();
  measureCollapsibles();
  startLeaseTimer();
  const heading = document.getElementById('task-heading');
  if (heading) heading.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function renderPairwiseTask(task) {
  const pair = new PairwiseView(task, { onChoose: onVerdictChosen });
  current = {
    task,
    pair,
    rankings: [],
    dimensionNames: [pair.question],
    views: [],
    shownAt: performance.now(),
  };
  document.title = `${task.job.name} — Tenet labeling`;
  const submitArea = renderSubmitArea(false);
  const main = h('div', { class: 'task-main' },
    renderQuestion(task.messages || []),
    pair.renderAnswers(),
    pair.renderChoice(current.comment),
    submitArea);
  replaceChildren(root, renderTaskBar(task),
    h('div', { class: 'task-layout' }, renderInstructions(task.job), main));
  pair.update();
  updateSubmitState();
  startLeaseTimer();
  const heading = document.getElementById('task-heading');
  if (heading) heading.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function onVerdictChosen(verdict) {
  if (!current || !current.pair) return;
  updateSubmitState();
  announce(`Chosen: ${current.pair.labelOf(verdict)}.${preview ? '' : ' Press Enter to submit.'}`);
}

/** The verdict keys and Enter of the pairwise view (the ranking view handles its own keys). */
function onPairwiseKeydown(event) {
  if (!current || !current.pair || event.defaultPrevented || event.isComposing) return;
  if (document.querySelector('dialog[open]')) return;
  const target = event.target instanceof Element ? event.target : null;
  const typing = Boolean(target && (target.isContentEditable ||
    target.closest('textarea, input, select, [contenteditable]')));
  if (event.key === 'Enter') {
    if (event.altKey || event.shiftKey) return;
    const withModifier = event.ctrlKey || event.metaKey;
    if (typing) {
      if (!withModifier || target !== current.comment) return;
    } else if (!withModifier && target && target.closest('button, a, summary, [role="button"]')) {
      // Enter activates the focused control, except on the verdict already chosen, where
      // choosing again would do nothing: there it submits.
      const button = target.closest('.verdict-button');
      if (!button || button.getAttribute('aria-pressed') !== 'true') return;
    }
    event.preventDefault();
    if (event.repeat) return;
    if (preview) announce('Submitting is off in the preview.');
    else if (allComplete()) submit();
    else announce('Not submitted: choose which answer is better first.');
    return;
  }
  if (typing || event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
  const option = current.pair.optionForKey(event.key);
  if (!option || busy) return;
  event.preventDefault();
  current.pair.choose(option.value);
  onVerdictChosen(option.value);
}

document.addEventListener('keydown', onPairwiseKeydown);

function renderInstructions(job) {
  const storageKey = `tenet.instructions.closed.${job.id}`;
  // Open beside the task on wide screens; on narrow ones it sits above the question, so it
  // starts closed there. The annotator's own choice is remembered per job.
  let closed = !window.matchMedia('(min-width: 60rem)').matches;
  try {
    const remembered = localStorage.getItem(storageKey);
    if (remembered !== null) closed = remembered === '1';
  } catch {
    // Storage can be off; the default stands.
  }
  const body = h('div', { class: 'markdown', id: 'instructions-body' });
  if (job.instructions_md && job.instructions_md.trim()) body.append(renderMarkdown(job.instructions_md));
  else body.append(h('p', { class: 'muted' }, 'This job has no written instructions.'));
  const details = h('details', { class: 'instructions', id: 'instructions', open: !closed },
    h('summary', {}, h('h2', { id: 'instructions-heading' }, 'Instructions')),
    body);
  details.addEventListener('toggle', () => {
    try {
      localStorage.setItem(storageKey, details.open ? '0' : '1');
    } catch {
      // Not remembered; harmless.
    }
  });
  return h('section', { class: 'instructions-pane', 'aria-labelledby': 'instructions-heading' }, details);
}

function renderTaskBar(task) {
  const lease = h('p', { class: 'lease', id: 'lease' });
  const actions = h('div', { class: 'task-actions' });
  if (preview) {
    actions.append(h('span', { class: 'preview-badge' }, 'Preview'));
  } else {
    actions.append(
      h('button', { type: 'button', class: 'secondary', id: 'give-back', onclick: giveBack },
        'Give back'),
      h('button', { type: 'button', class: 'secondary', id: 'skip', onclick: openSkipDialog },
        'Skip…'));
  }
  const bar = h('div', { class: 'task-bar' },
    h('div', { class: 'task-title' },
      h('p', { class: 'eyebrow' }, preview ? 'Preview of' : 'Job'),
      h('h1', { id: 'task-heading', tabindex: '-1', text: task.job.name })),
    actions,
    lease);
  if (preview) {
    bar.append(h('p', { class: 'notice info' },
      'This is the task page as annotators see it. You can try the ' +
      `${task.job.kind === 'pairwise' ? 'choice' : 'ranking'}; nothing is submitted.`));
  }
  return bar;
}

function renderQuestion(messages) {
  const system = messages.filter((m) => m.role === 'system');
  const conversation = messages.filter((m) => m.role !== 'system');
  let lastUser = -1;
  conversation.forEach((m, i) => {
    if (m.role === 'user') lastUser = i;
  });
  const section = h('section', { class: 'panel question', 'aria-labelledby': 'question-heading' },
    h('h2', { id: 'question-heading' }, 'Question'));
  if (system.length) {
    section.append(h('details', { class: 'system-message' },
      h('summary', {}, 'Context the assistant was given (system message)'),
      system.map((m) => h('div', { class: 'message-text', text: m.content }))));
  }
  conversation.forEach((m, i) => {
    if (i === lastUser) {
      section.append(h('blockquote', { class: 'user-question', text: m.content }));
    } else {
      section.append(h('div', { class: `earlier-turn role-${m.role === 'user' ? 'user' : 'assistant'}` },
        h('p', { class: 'role-label' }, m.role === 'user' ? 'User said' : 'Assistant said'),
        h('div', { class: 'message-text', text: m.content })));
    }
  });
  if (!conversation.length) section.append(h('p', { class: 'muted' }, 'This item has no question text.'));
  return section;
}

function renderDimension(name, d, answers) {
  const n = answers.length;
  const single = current.dimensionNames.length === 1;
  const headingId = `dimension-${d}-heading`;
  const helpId = `dimension-${d}-help`;
  const list = h('ol', {
    class: 'ranking', id: `ranking-${d}`, 'aria-labelledby': headingId, 'aria-describedby': helpId,
  });
  const cards = new Map();
  const ranking = current.rankings[d];
  answers.forEach((answer) => {
    const view = renderCard(answer, d, n, ranking.allowTies);
    cards.set(answer.index, view);
    list.append(view.li);
  });
  list.addEventListener('keydown', (event) => onListKeydown(event, d));
  const state = h('p', { class: 'dimension-state', id: `dimension-${d}-state` });
  const keep = h('button', { type: 'button', class: 'link-button', id: `dimension-${d}-keep` },
    'The order shown is already my ranking');
  keep.addEventListener('click', () => {
    ranking.keep();
    updateDimension(d);
    updateSubmitState();
    announce(`Ranking kept as shown${single ? '' : ` for ${name}`}.`);
  });
  const tieHelp = ranking.allowTies
    ? ' To give two answers the same rank, use “Tie with above” (key =).' : '';
  const section = h('section', { class: 'dimension', 'aria-labelledby': headingId },
    h('div', { class: 'dimension-head' },
      h('h2', { id: headingId },
        single ? 'Rank the answers' : 'Rank the answers for: ',
        single ? null : h('span', { class: 'dimension-name', text: name })),
      state),
    single && name !== 'Ranking'
      ? h('p', { class: 'criterion' }, 'By: ', h('strong', { text: name })) : null,
    h('p', { class: 'help', id: helpId },
      `Best answer at the top (rank 1). Drag an answer by its handle, use its arrow buttons, ` +
      `or select it and press a number key 1–${Math.min(n, 9)} to give it that rank; ` +
      `Alt+↑ and Alt+↓ move it.${tieHelp} Enter submits.`),
    keep,
    list);
  current.views[d] = { list, cards, state, keep, name };
  return section;
}

function renderCard(answer, d, n, allowTies) {
  const name = `Answer ${current.letters.get(answer.index)}`;
  const textId = `answer-${d}-${answer.index}-text`;
  const badge = h('span', { class: 'rank-badge', 'aria-hidden': 'true' });
  const tieNote = h('span', { class: 'tie-note', hidden: true });
  const up = h('button', { type: 'button', class: 'icon-button move-up', 'aria-label': `Move ${name} up` },
    h('span', { 'aria-hidden': 'true' }, '↑'));
  const down = h('button', { type: 'button', class: 'icon-button move-down', 'aria-label': `Move ${name} down` },
    h('span', { 'aria-hidden': 'true' }, '↓'));
  const tie = allowTies
    ? h('button', { type: 'button', class: 'tie-button', 'aria-pressed': 'false' }, 'Tie with above')
    : null;
  const handle = h('span', { class: 'drag-handle', 'aria-hidden': 'true', title: 'Drag to reorder' },
    h('span', { class: 'grip' }));
  const text = h('div', { class: 'answer-text', id: textId, text: answer.text });
  const more = h('button', {
    type: 'button', class: 'show-more link-button', 'aria-expanded': 'false', 'aria-controls': textId, hidden: true,
  }, 'Show more');
  const li = h('li', {
    class: 'card', tabindex: '0', dataset: { index: String(answer.index), letter: current.letters.get(answer.index) },
  },
  h('div', { class: 'card-head' },
    handle,
    badge,
    h('h3', { class: 'card-title' }, name),
    tieNote,
    h('div', { class: 'card-tools' }, tie, up, down)),
  text,
  more);

  up.addEventListener('click', () => moveBy(d, answer.index, -1, up));
  down.addEventListener('click', () => moveBy(d, answer.index, +1, down));
  if (tie) tie.addEventListener('click', () => toggleTie(d, answer.index, tie));
  more.addEventListener('click', () => {
    const expanded = more.getAttribute('aria-expanded') === 'true';
    more.setAttribute('aria-expanded', String(!expanded));
    more.textContent = expanded ? 'Show more' : 'Show less';
    text.classList.toggle('collapsed', expanded);
    if (expanded) li.scrollIntoView({ block: 'nearest' });
  });
  handle.addEventListener('pointerdown', (event) => startDrag(event, d, answer.index));
  // Pressing on the handle must not start a text selection (pointerdown's default does not
  // cover that in every browser).
  handle.addEventListener('mousedown', (event) => event.preventDefault());
  return { li, badge, tieNote, up, down, tie, text, more, name };
}

/** Collapses long answers and long system messages behind "Show more". */
function measureCollapsibles() {
  if (!current) return;
  for (const view of current.views) {
    for (const card of view.cards.values()) {
      if (card.more.getAttribute('aria-expanded') === 'true') continue;
      card.text.classList.add('collapsed');
      const overflows = card.text.scrollHeight > card.text.clientHeight + 4;
      card.more.hidden = !overflows;
      if (!overflows) card.text.classList.remove('collapsed');
    }
  }
}

let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(measureCollapsibles, 150);
});

// ---------------------------------------------------------------------------------------------
// Ranking state → DOM

function updateDimension(d) {
  const view = current.views[d];
  const ranking = current.rankings[d];
  const ranks = ranking.ranksByPosition();
  const n = ranking.size;
  // Reorder the DOM only where it differs, and keep focus where it was.
  const focused = document.activeElement;
  ranking.order.forEach((index, position) => {
    const li = view.cards.get(index).li;
    if (view.list.children[position] !== li) view.list.insertBefore(li, view.list.children[position] || null);
  });
  if (focused && focused !== document.activeElement && document.contains(focused)) {
    focused.focus({ preventScroll: true });
  }
  ranking.order.forEach((index, position) => {
    const card = view.cards.get(index);
    const tied = ranking.isTied(index);
    const above = position > 0 ? answerName(ranking.order[position - 1]) : null;
    card.badge.textContent = String(ranks[position]);
    card.li.dataset.rank = String(ranks[position]);
    card.li.dataset.position = String(position + 1);
    card.li.classList.toggle('is-tied', tied);
    card.tieNote.hidden = !tied;
    card.tieNote.textContent = tied ? `tied with ${above}` : '';
    card.li.setAttribute('aria-label',
      `${card.name}, rank ${ranks[position]} of ${n}${tied ? `, tied with ${above}` : ''}`);
    card.up.disabled = position === 0;
    card.down.disabled = position === n - 1;
    if (card.tie) {
      card.tie.disabled = position === 0;
      card.tie.setAttribute('aria-pressed', String(tied));
      card.tie.setAttribute('aria-label', position === 0
        ? `${card.name} is at the top and cannot tie`
        : `Tie ${card.name} with ${above}`);
    }
  });
  view.state.textContent = ranking.complete ? 'Ranked' : 'Not ranked yet';
  view.state.classList.toggle('is-complete', ranking.complete);
  view.keep.hidden = ranking.complete;
  view.list.classList.toggle('is-untouched', !ranking.complete);
}

function allComplete() {
  if (current && current.pair) return current.pair.verdict !== null;
  return current && current.rankings.every((r) => r.complete);
}

/** What the annotator submits on this page: "ranking", or "choice" for pairwise tasks. */
function workNoun() {
  return current && current.pair ? 'choice' : 'ranking';
}

function submitLabel() {
  return `Submit ${workNoun()}${preview ? ' (off in preview)' : ''}`;
}

function updateSubmitState() {
  if (!current || !current.submit) return;
  if (current.pair) {
    const verdict = current.pair.verdict;
    current.submit.disabled = busy || preview || verdict === null;
    if (preview) current.submitHint.textContent = 'Submitting is off in the preview.';
    else if (verdict === null) current.submitHint.textContent = 'Choose which answer is better first.';
    else {
      replaceChildren(current.submitHint, 'Your choice: ',
        h('strong', { text: current.pair.labelOf(verdict) }), '. Ready to submit.');
    }
    return;
  }
  const missing = current.rankings
    .map((r, d) => (r.complete ? null : current.dimensionNames[d]))
    .filter((x) => x !== null);
  current.submit.disabled = busy || preview || missing.length > 0;
  let hint;
  if (preview) hint = 'Submitting is off in the preview.';
  else if (missing.length === 0) hint = 'Ready to submit.';
  else if (current.rankings.length === 1) hint = 'Put the answers in order first (or keep the order shown).';
  else hint = `Still to rank: ${missing.join(', ')}.`;
  current.submitHint.textContent = hint;
}

function announceMove(d, index) {
  const ranking = current.rankings[d];
  const position = ranking.positionOf(index) + 1;
  const suffix = current.rankings.length > 1 ? ` (${current.dimensionNames[d]})` : '';
  announce(`${answerName(index)} moved to position ${position} of ${ranking.size}${suffix}.`);
}

function moveTo(d, index, position) {
  const ranking = current.rankings[d];
  ranking.move(index, position);
  updateDimension(d);
  updateSubmitState();
  announceMove(d, index);
}

function moveBy(d, index, delta, button) {
  const ranking = current.rankings[d];
  const position = ranking.positionOf(index) + delta;
  if (position < 0 || position >= ranking.size) return;
  moveTo(d, index, position);
  const card = current.views[d].cards.get(index);
  // Keep focus on the pressed button unless it just became disabled (top or bottom).
  if (button && !button.disabled) button.focus({ preventScroll: true });
  else card.li.focus({ preventScroll: true });
  card.li.scrollIntoView({ block: 'nearest' });
}

function toggleTie(d, index, button) {
  const ranking = current.rankings[d];
  const tied = !ranking.isTied(index);
  const position = ranking.positionOf(index);
  if (!ranking.allowTies) {
    announce('This job does not allow ties.');
    return;
  }
  if (position === 0) {
    announce(`${answerName(index)} is at the top; there is nothing above to tie with.`);
    return;
  }
  ranking.setTied(index, tied);
  updateDimension(d);
  updateSubmitState();
  const above = answerName(ranking.order[position - 1]);
  announce(tied
    ? `${answerName(index)} tied with ${above} at rank ${ranking.rankOf(index)}.`
    : `${answerName(index)} no longer tied; rank ${ranking.rankOf(index)}.`);
  if (button) button.focus({ preventScroll: true });
}

function onListKeydown(event, d) {
  const li = event.target.closest('li.card');
  // Keys act on the focused card itself, not on the buttons inside it.
  if (!li || event.target !== li || !current) return;
  const index = Number(li.dataset.index);
  const ranking = current.rankings[d];
  const position = ranking.positionOf(index);
  const cards = current.views[d].list.children;
  const key = event.key;
  if (event.altKey && (key === 'ArrowUp' || key === 'ArrowDown')) {
    event.preventDefault();
    const to = position + (key === 'ArrowUp' ? -1 : 1);
    if (to < 0 || to >= ranking.size) {
      announce(`${answerName(index)} is already ${to < 0 ? 'at the top' : 'at the bottom'}.`);
      return;
    }
    moveTo(d, index, to);
    li.focus({ preventScroll: true });
    li.scrollIntoView({ block: 'nearest' });
    return;
  }
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (/^[1-9]$/.test(key)) {
    event.preventDefault();
    const rank = Number(key);
    if (rank > ranking.size) {
      announce(`There are only ${ranking.size} answers; use 1 to ${ranking.size}.`);
      return;
    }
    moveTo(d, index, rank - 1);
    li.focus({ preventScroll: true });
    li.scrollIntoView({ block: 'nearest' });
    return;
  }
  if (key === '=' || key === '+') {
    event.preventDefault();
    toggleTie(d, index, null);
    li.focus({ preventScroll: true });
    return;
  }
  if (key === 'ArrowUp' || key === 'ArrowDown' || key === 'Home' || key === 'End') {
    event.preventDefault();
    let target = position;
    if (key === 'ArrowUp') target = Math.max(0, position - 1);
    if (key === 'ArrowDown') target = Math.min(cards.length - 1, position + 1);
    if (key === 'Home') target = 0;
    if (key === 'End') target = cards.length - 1;
    cards[target].focus();
    return;
  }
  if (key === 'Enter') {
    event.preventDefault();
    if (preview) {
      announce('Submitting is off in the preview.');
    } else if (allComplete()) {
      submit();
    } else {
      announce(current.rankings.length === 1
        ? 'Not submitted: put the answers in order first, or choose to keep the order shown.'
        : 'Not submitted: rank the answers for every dimension first.');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dragging (drag.js does the pointer work; the model changes on drop)

function startDrag(event, d, index) {
  if (!current || busy) return;
  const view = current.views[d];
  const li = view.cards.get(index).li;
  beginDrag(event, {
    list: view.list,
    item: li,
    onDrop(from, to) {
      if (to !== from) moveTo(d, index, to);
      else announce(`${answerName(index)} stayed at position ${from + 1}.`);
      li.focus({ preventScroll: true });
    },
    onCancel() {
      announce('Move cancelled.');
      li.focus({ preventScroll: true });
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Submit, give back, skip

/** The comment box and the sticky submit bar; pairwise tasks place the box themselves. */
function renderSubmitArea(withCommentPanel = true) {
  const comment = h('textarea', { id: 'comment', rows: '3', maxlength: '5000' });
  const hint = h('p', { class: 'submit-hint', id: 'submit-hint' });
  const message = h('p', { class: 'message', id: 'submit-message', role: 'alert', hidden: true });
  const submitButton = h('button', {
    type: 'button', class: 'primary', id: 'submit', 'aria-describedby': 'submit-hint',
  }, submitLabel());
  submitButton.addEventListener('click', submit);
  current.submit = submitButton;
  current.submitHint = hint;
  current.comment = comment;
  current.message = message;
  comment.setAttribute('aria-describedby', 'comment-hint');
  const submitArea = h('section', { class: 'submit-area', 'aria-label': 'Submit' },
    message,
    h('div', { class: 'submit-row' }, hint, submitButton));
  if (!withCommentPanel) return submitArea;
  return [
    h('section', { class: 'panel comment-area', 'aria-label': 'Comment' },
      h('div', { class: 'field' },
        h('label', { for: 'comment' }, 'Comment ', h('span', { class: 'optional' }, '(optional)')),
        h('p', { class: 'field-hint', id: 'comment-hint' },
          'Anything the team lead should know about this item, e.g. why two answers are close.'),
        comment)),
    submitArea,
  ];
}

function stateAfterError(err) {
  if (err.code === 'lease_expired' || err.code === 'not_your_task' || err.code === 'task_closed') {
    const text = err.code === 'lease_expired'
      ? `Your time for this item ran out, so it went back to the pool and your ${workNoun()} was not saved.`
      : `This item is no longer assigned to you, so your ${workNoun()} was not saved.`;
    stopLeaseTimer();
    replaceChildren(current.message, text, ' ',
      h('button', { type: 'button', class: 'link-button', onclick: loadNext }, 'Get the next item'));
    current.message.hidden = false;
    return;
  }
  showMessage(current.message, err.message, 'error');
}

async function submit() {
  if (!current || busy || preview || !allComplete()) return;
  const task = current.task;
  const noun = workNoun();
  const body = {};
  if (current.pair) {
    body.verdict = current.pair.verdict;
  } else {
    try {
      body.ranks = current.rankings.map((r) => r.ranksByIndex());
    } catch (err) {
      showMessage(current.message, `Cannot submit: ${err.message}`, 'error');
      return;
    }
  }
  body.comment = current.comment.value.trim();
  body.time_spent_ms = Math.max(0, Math.round(performance.now() - current.shownAt));
  setBusy(true, 'Submitting…');
  try {
    await post(`/api/tasks/${task.id}/submit`, body);
  } catch (err) {
    setBusy(false);
    if (err.status !== 401) stateAfterError(err);
    return;
  }
  setBusy(false);
  announce(`${noun === 'choice' ? 'Choice' : 'Ranking'} submitted. Loading the next item.`);
  flash(`Thank you, your ${noun} was saved.`, 'ok');
  await loadNext();
}

let flashTimer = null;

/** A short confirmation above the task that goes away by itself. */
function flash(message, kind) {
  showMessage(pageStatus, message, kind);
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => showMessage(pageStatus, ''), 6000);
}

function setBusy(value, label) {
  busy = value;
  if (!current) return;
  for (const id of ['give-back', 'skip']) {
    const button = document.getElementById(id);
    if (button) button.disabled = value;
  }
  if (current.submit) {
    current.submit.textContent = value && label ? label : submitLabel();
    current.submit.setAttribute('aria-busy', String(value));
  }
  if (current.pair) {
    for (const button of current.pair.buttons.values()) button.disabled = value;
  }
  updateSubmitState();
}

async function giveBack() {
  if (!current || busy) return;
  setBusy(true);
  try {
    await post(`/api/tasks/${current.task.id}/release`, {});
    location.assign('/');
  } catch (err) {
    setBusy(false);
    if (err.status !== 401) stateAfterError(err);
  }
}

const SKIP_REASONS = [
  'I cannot judge this topic',
  'The question is unclear or broken',
  'The answers are unreadable or broken',
  'Other',
];

function openSkipDialog() {
  if (!current || busy) return;
  const dialog = document.getElementById('skip-dialog');
  const form = dialog.querySelector('form');
  const choices = dialog.querySelector('#skip-choices');
  const other = dialog.querySelector('#skip-other');
  const error = dialog.querySelector('#skip-error');
  if (!choices.childElementCount) {
    SKIP_REASONS.forEach((reason, i) => {
      choices.append(h('div', { class: 'choice' },
        h('input', { type: 'radio', name: 'reason', id: `skip-reason-${i}`, value: reason }),
        h('label', { for: `skip-reason-${i}` }, reason)));
    });
  }
  form.reset();
  showMessage(error, '');
  dialog.returnValue = '';
  dialog.showModal();
  dialog.querySelector('input[name="reason"]').focus();
  form.onsubmit = async (event) => {
    if (event.submitter && event.submitter.value === 'cancel') return; // closes the dialog
    event.preventDefault();
    const chosen = form.querySelector('input[name="reason"]:checked');
    const detail = other.value.trim();
    if (!chosen && !detail) {
      showMessage(error, 'Choose a reason, or write one.', 'error');
      return;
    }
    let reason = chosen ? chosen.value : 'Other';
    if (detail) reason = reason === 'Other' ? detail : `${reason}: ${detail}`;
    if (reason === 'Other') {
      showMessage(error, 'Please write the reason in the box.', 'error');
      other.focus();
      return;
    }
    try {
      await post(`/api/tasks/${current.task.id}/skip`, { reason });
    } catch (err) {
      if (err.status !== 401) showMessage(error, err.message, 'error');
      return;
    }
    dialog.close();
    announce('Item skipped. Loading the next item.');
    flash('Skipped. You will not see that item again.', 'info');
    await loadNext();
  };
}

// ---------------------------------------------------------------------------------------------
// Lease countdown

function startLeaseTimer() {
  const render = () => {
    const el = document.getElementById('lease');
    if (!el || !current) return;
    if (preview || !current.task.lease_expires_at) {
      el.textContent = preview ? 'Annotators hold each item for the job’s time limit.' : '';
      return;
    }
    const expires = current.task.lease_expires_at;
    const left = Math.round(expires - Date.now() / 1000);
    el.classList.toggle('is-warning', left <= 120);
    if (left <= 0) {
      el.textContent = `Your time for this item ran out at ${formatTime(expires)}. ` +
        'Submitting may fail; you can still try, or get the next item.';
      stopLeaseTimer();
      return;
    }
    const minutes = Math.ceil(left / 60);
    el.textContent = `Held for you until ${formatTime(expires)} ` +
      `(${minutes <= 1 ? 'less than a minute' : `about ${minutes} minutes`} left).`;
  };
  render();
  leaseTimer = setInterval(render, 15000);
}

function stopLeaseTimer() {
  if (leaseTimer) clearInterval(leaseTimer);
  leaseTimer = null;
}

start();
