// /: the annotator's queue — jobs with items left for me, and a Start button for each.
import { get, me, signOut } from './api.js';
import { formatDuration, h, replaceChildren, showMessage } from './dom.js';

const queue = document.getElementById('queue');
const status = document.getElementById('queue-status');

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

function renderJob(job) {
  const headingId = `job-${job.id}-name`;
  const done = job.done_by_me || 0;
  return h('li', { class: 'panel job-card', 'aria-labelledby': headingId },
    h('h2', { id: headingId, text: job.name }),
    h('p', { class: 'job-remaining' },
      h('strong', {}, plural(job.remaining, 'item', 'items')), ' left for you',
      done ? ` · ${plural(done, 'done', 'done')} by you` : ''),
    h('p', { class: 'muted' },
      `Each item is held for you for ${formatDuration(job.task_time_limit_s)} once you open it.`),
    h('a', { class: 'button primary', href: `/task/${job.id}`, 'aria-describedby': headingId }, 'Start'));
}

async function load() {
  document.getElementById('sign-out').addEventListener('click', signOut);
  let user;
  try {
    ({ user } = await me());
  } catch (err) {
    if (err.status !== 401) showMessage(status, err.message);
    return;
  }
  document.getElementById('who').textContent = `Signed in as ${user.name || user.email}`;
  if (user.role === 'admin') document.getElementById('admin-link').hidden = false;
  try {
    const { jobs } = await get('/api/queue');
    if (!jobs.length) {
      replaceChildren(queue, h('div', { class: 'panel empty' },
        h('p', {}, h('strong', {}, 'Nothing to do right now.')),
        h('p', { class: 'muted' }, 'There are no items waiting for you. Check back later.')));
      return;
    }
    replaceChildren(queue, h('ul', { class: 'job-list', 'aria-label': 'Jobs' }, jobs.map(renderJob)));
  } catch (err) {
    if (err.status !== 401) {
      replaceChildren(queue);
      showMessage(status, err.message);
    }
  }
}

load();
