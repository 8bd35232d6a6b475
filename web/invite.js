// /invite/<token>: shows who the invitation is for, then name + password (twice) →
// POST /api/invitations/<token>/accept, which signs the new annotator in.
import { get, post, setCsrfToken } from './api.js';
import { formatDateTime, h, replaceChildren, showMessage } from './dom.js';

const MIN_PASSWORD = 10;
const token = decodeURIComponent((/^\/invite\/([^/]+)\/?$/.exec(location.pathname) || [])[1] || '');
const intro = document.getElementById('invite-intro');
const form = document.getElementById('invite-form');
const message = document.getElementById('invite-message');
const fields = {
  name: document.getElementById('name'),
  password: document.getElementById('password'),
  password2: document.getElementById('password2'),
};

const PROBLEMS = {
  invitation_used: ['This invitation link has already been used.',
    'If you created your account with it, sign in with your email and password.'],
  invitation_expired: ['This invitation link has expired.',
    'Ask your team lead to send you a new invitation.'],
  not_found: ['This invitation link is not valid.',
    'Check that you copied the whole link, or ask your team lead for a new one.'],
};

function showProblem(code, fallback) {
  const [title, advice] = PROBLEMS[code] || [fallback || 'This invitation cannot be used.', ''];
  form.hidden = true;
  document.getElementById('invite-heading').textContent = 'Invitation link';
  replaceChildren(intro,
    h('div', { class: 'notice error', role: 'alert' },
      h('p', {}, h('strong', {}, title)),
      advice ? h('p', {}, advice) : null),
    h('p', {}, h('a', { href: '/login', class: 'button' }, 'Go to sign in')));
}

function problemCode(err) {
  if (err.code === 'invitation_used' || err.code === 'invitation_expired') return err.code;
  if (err.status === 404) return 'not_found';
  if (err.status === 410) return 'invitation_expired';
  return null;
}

function setFieldError(input, text) {
  const error = document.getElementById(`${input.id}-error`);
  error.textContent = text || '';
  error.hidden = !text;
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

// One check per field: the message to show, or '' when the field is fine.
const CHECKS = {
  name: () => (fields.name.value.trim() ? '' : 'Enter your name.'),
  password: () => {
    const length = fields.password.value.length;
    return length < MIN_PASSWORD
      ? `The password needs at least ${MIN_PASSWORD} characters (it has ${length}).` : '';
  },
  password2: () => (fields.password2.value === fields.password.value
    ? '' : 'The two passwords are not the same.'),
};

function validate() {
  const errors = [];
  for (const [key, check] of Object.entries(CHECKS)) {
    const problem = check();
    setFieldError(fields[key], problem);
    if (problem) errors.push(fields[key]);
  }
  return errors;
}

async function load() {
  if (!token) {
    showProblem('not_found');
    return;
  }
  try {
    const info = await get(`/api/invitations/${encodeURIComponent(token)}`, { auth401: 'throw' });
    document.getElementById('invite-email').value = info.email || '';
    replaceChildren(intro,
      h('p', {}, 'You have been invited to label data',
        info.team ? [' with the team ', h('strong', { text: info.team })] : null, '.'),
      h('p', { class: 'muted' }, `Create your account before ${formatDateTime(info.expires_at)}.`));
    form.hidden = false;
    fields.name.focus();
  } catch (err) {
    showProblem(problemCode(err), err.message);
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  showMessage(message, '');
  const errors = validate();
  if (errors.length) {
    errors[0].focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const data = await post(`/api/invitations/${encodeURIComponent(token)}/accept`,
      { name: fields.name.value.trim(), password: fields.password.value },
      { auth401: 'throw', noCsrf: true });
    setCsrfToken(data.csrf_token);
    location.assign(data.user && data.user.role === 'admin' ? '/admin' : '/');
  } catch (err) {
    button.disabled = false;
    const code = problemCode(err);
    if (code && err.status !== 400) showProblem(code, err.message);
    else showMessage(message, err.message);
  }
});

// A field marked wrong is re-checked as the user types (not on blur: a message vanishing
// under the pointer would move the submit button away from a click).
for (const [key, input] of Object.entries(fields)) {
  input.addEventListener('input', () => {
    if (input.getAttribute('aria-invalid') === 'true') setFieldError(input, CHECKS[key]());
    if (key === 'password' && fields.password2.getAttribute('aria-invalid') === 'true') {
      setFieldError(fields.password2, CHECKS.password2());
    }
  });
}

load();
