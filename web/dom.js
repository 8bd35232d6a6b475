// Small DOM helpers shared by the portal pages.
// Everything here builds nodes with createElement/textContent: untrusted strings (answers,
// questions, job names, comments, e-mail addresses) never pass through innerHTML.

/**
 * h('button', {class: 'primary', type: 'button', onclick: fn}, 'Text', childNode, ...)
 * Attributes: `class`, `text` (textContent), `on<event>` (listeners), `dataset` (object),
 * booleans (true sets the attribute, false/null/undefined skip it), anything else via
 * setAttribute. Children: strings become text nodes, null/false are skipped, arrays flatten.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Appends strings (as text), nodes and nested arrays of them. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Removes every child of `el`, then appends `children`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});

/** Unix seconds → "14:05". */
export function formatTime(unixSeconds) {
  return timeFormat.format(new Date(unixSeconds * 1000));
}

/** Unix seconds → "24 Nov 2025, 14:05"; "—" for null. */
export function formatDateTime(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined) return '—';
  return dateTimeFormat.format(new Date(unixSeconds * 1000));
}

/** Seconds → "30 min", "2 h", "1 h 30 min". */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/** A number with at most `digits` decimals, or "—" for null/NaN. */
export function formatNumber(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return '—';
  return Number(value).toFixed(digits).replace(/\.?0+$/, '') || '0';
}

/**
 * Shows a message in a status element (role="status" or role="alert" set by the page).
 * kind: 'error' | 'ok' | 'info'. An empty message hides the element.
 */
export function showMessage(el, message, kind = 'error') {
  el.textContent = message || '';
  el.hidden = !message;
  el.dataset.kind = kind;
}

/** Letter for a display position: 0 → "A". */
export function letter(position) {
  return String.fromCharCode(65 + position);
}
