// The portal's one way to talk to the server (docs/label-api.md).
// - JSON in and out, cookies same-origin.
// - Every POST carries X-CSRF-Token: taken from /api/login or invitation accept, or fetched
//   once from /api/me when a page posts before it has one.
// - 401 sends the browser to /login (with ?next= back here), except where the caller opts out.
// - Errors become ApiError with the server's {"error": {"code", "message"}}.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Remembers the CSRF token a login, accept or /api/me answer carried. */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** The path to come back to after signing in: only same-origin paths, never "//host". */
export function safeNext(next) {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') ||
      next.startsWith('/\\')) {
    return null;
  }
  return next;
}

export function redirectToLogin() {
  const here = location.pathname + location.search;
  const next = here === '/' || here.startsWith('/login') ? '' : `?next=${encodeURIComponent(here)}`;
  location.assign(`/login${next}`);
}

const FRIENDLY = {
  0: 'Cannot reach the server. Check your connection and try again.',
  413: 'That is too large for the server to accept.',
  429: 'Too many attempts. Wait a few minutes and try again.',
  500: 'Something went wrong on the server. Try again in a moment.',
};

/**
 * api(method, path, body?, {auth401: 'redirect' | 'throw'}) → parsed JSON.
 * Throws ApiError (after redirecting for 401 unless auth401 is 'throw').
 */
export async function api(method, path, body, options = {}) {
  const auth401 = options.auth401 || 'redirect';
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body === undefined ? {} : body);
    const needsCsrf = !options.noCsrf;
    if (needsCsrf && !csrfToken) await me({ auth401 });
    if (needsCsrf && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', FRIENDLY[0]);
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) {
    if (data && typeof data.csrf_token === 'string') setCsrfToken(data.csrf_token);
    return data || {};
  }
  const error = data && data.error ? data.error : {};
  const message = (typeof error.message === 'string' && error.message) ||
    FRIENDLY[response.status] ||
    (response.status >= 500 ? FRIENDLY[500] : `The request failed (HTTP ${response.status}).`);
  const apiError = new ApiError(response.status, error.code || `http_${response.status}`, sentence(message));
  if (response.status === 401 && auth401 === 'redirect') {
    redirectToLogin();
  }
  throw apiError;
}

/** Server messages are lower-case clauses ("the body must be …"); show them as sentences. */
function sentence(text) {
  const trimmed = String(text).trim();
  if (!trimmed) return trimmed;
  const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

let mePromise = null;

/** GET /api/me once per page (cached); sets the CSRF token. */
export function me(options = {}) {
  if (!mePromise) {
    mePromise = api('GET', '/api/me', undefined, options).catch((err) => {
      mePromise = null;
      throw err;
    });
  }
  return mePromise;
}

export const get = (path, options) => api('GET', path, undefined, options);
export const post = (path, body, options) => api('POST', path, body, options);

/** Signs out and goes to the sign-in page, whatever the server answers. */
export async function signOut() {
  try {
    await post('/api/logout', {}, { auth401: 'throw' });
  } catch {
    // Already signed out or unreachable: the sign-in page is still the right place.
  }
  setCsrfToken(null);
  location.assign('/login');
}
