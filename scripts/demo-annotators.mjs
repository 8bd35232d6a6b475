// Demo helper: simulated annotators who accept their invitation links and rank every task they
// get through the portal's JSON API (docs/label-api.md), as the browser would. Each prefers
// shorter answers, with a little personal noise, so agreement is high but not perfect.
// Usage: node scripts/demo-annotators.mjs <base url> <invitation link>...
const [base, ...links] = process.argv.slice(2);
if (!base || links.length === 0) {
  console.error('usage: demo-annotators.mjs <base url> <invitation link>...');
  process.exit(2);
}

async function call(session, method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (session.cookie) headers.Cookie = session.cookie;
  if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.error)}`);
  const cookie = res.headers.get('set-cookie');
  if (cookie) session.cookie = cookie.split(';')[0];
  return json;
}

async function annotate(link, who) {
  const token = link.split('/invite/')[1];
  const session = {};
  const me = await call(session, 'POST', `/api/invitations/${token}/accept`, { name: `Annotator ${who + 1}`, password: 'demo password ' + who });
  session.csrf = me.csrf_token;
  let done = 0;
  for (const job of (await call(session, 'GET', '/api/queue')).jobs) {
    for (;;) {
      const { task } = await call(session, 'POST', `/api/jobs/${job.id}/next`, {});
      if (!task) break;
      // Shorter is better, plus noise of up to 8 characters per annotator and answer.
      const scored = task.answers.map((a) => ({ index: a.index, score: a.text.length + ((a.index * 7 + who * 13) % 9) }));
      scored.sort((x, y) => x.score - y.score);
      const ranks = new Array(task.answers.length);
      scored.forEach((a, pos) => { ranks[a.index] = pos + 1; });
      await call(session, 'POST', `/api/tasks/${task.id}/submit`, { ranks: task.job.dimensions.map(() => ranks), time_spent_ms: 20000 + 1000 * who });
      done++;
    }
  }
  console.log(`${me.user.email}: ranked ${done} items`);
}

await Promise.all(links.map((link, i) => annotate(link, i)));
