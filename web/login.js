// /login: email + password → POST /api/login, then back to where the user was going.
import { ApiError, get, post, safeNext, setCsrfToken } from './api.js';
import { showMessage } from './dom.js';

const form = document.getElementById('login-form');
const email = document.getElementById('email');
const password = document.getElementById('password');
const message = document.getElementById('login-message');
const button = form.querySelector('button[type="submit"]');

function destination(user) {
  const next = safeNext(new URLSearchParams(location.search).get('next'));
  if (next && !next.startsWith('/login')) return next;
  return user && user.role === 'admin' ? '/admin' : '/';
}

function markInvalid(input, invalid) {
  if (invalid) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const address = email.value.trim();
  markInvalid(email, !address);
  markInvalid(password, !password.value);
  if (!address || !password.value) {
    showMessage(message, 'Enter your email and password.');
    (address ? password : email).focus();
    return;
  }
  button.disabled = true;
  showMessage(message, '');
  try {
    const data = await post('/api/login', { email: address, password: password.value },
      { auth401: 'throw', noCsrf: true });
    setCsrfToken(data.csrf_token);
    location.assign(destination(data.user));
  } catch (err) {
    button.disabled = false;
    if (err instanceof ApiError && err.code === 'bad_credentials') {
      showMessage(message, 'That email and password do not match an active account.');
      markInvalid(password, true);
      password.select();
      password.focus();
    } else if (err instanceof ApiError && err.code === 'rate_limited') {
      showMessage(message, 'Too many failed sign-ins. Wait 15 minutes, then try again.');
    } else {
      showMessage(message, err.message);
    }
  }
});

// Already signed in? Go straight on.
get('/api/me', { auth401: 'throw' }).then(
  (data) => location.replace(destination(data.user)),
  () => email.focus(),
);
