// A small Markdown subset for job instructions, rendered straight into DOM nodes.
//
// Supported: ATX headings (# … ######, shown one level below the page's own headings),
// paragraphs (a single newline is a line break), **bold** / __bold__, *italic* / _italic_,
// `inline code`, fenced code blocks (``` or ~~~), bullet lists (- * +), numbered lists (1. or 1)),
// one level of nesting inside list items, > block quotes, --- rules, backslash escapes,
// [links](url) and <autolinks>.
//
// Not supported, on purpose: raw HTML (shown as text), images, tables, reference links.
//
// Instructions are written by a job's requester and are untrusted: every string goes into the
// page through textContent, never innerHTML, and a link is only made for http:, https: and
// mailto: URLs (rel="noopener noreferrer", new tab). Any other link, e.g. javascript:, is shown
// as its literal Markdown text.

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const BULLET = /^( {0,3})([-*+])[ \t]+(.*)$/;
const ORDERED = /^( {0,3})(\d{1,9})([.)])[ \t]+(.*)$/;
const PUNCTUATION = /[!-/:-@[-`{-~]/;

/** Renders Markdown source into a DocumentFragment. `headingOffset` shifts # to h(1+offset). */
export function renderMarkdown(source, { headingOffset = 2 } = {}) {
  const fragment = document.createDocumentFragment();
  const lines = String(source ?? '').replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n');
  fragment.append(...renderBlocks(lines, headingOffset, 0));
  return fragment;
}

/** Only absolute http(s) and mailto URLs become links; null for anything else. */
export function safeHref(raw) {
  let url = String(raw).trim();
  if (url.startsWith('<') && url.endsWith('>')) url = url.slice(1, -1).trim();
  if (!/^(https?:\/\/|mailto:)/i.test(url)) return null;
  try {
    const parsed = new URL(url);
    if (!['http:', 'https:', 'mailto:'].includes(parsed.protocol)) return null;
    return parsed.href;
  } catch {
    return null;
  }
}

function listMarker(line) {
  const bullet = BULLET.exec(line);
  if (bullet) return { ordered: false, indent: bullet[1].length, marker: bullet[2], text: bullet[3], width: bullet[0].length - bullet[3].length };
  const ordered = ORDERED.exec(line);
  if (ordered) return { ordered: true, indent: ordered[1].length, start: Number(ordered[2]), delimiter: ordered[3], text: ordered[4], width: ordered[0].length - ordered[4].length };
  return null;
}

function isBlank(line) {
  return line.trim() === '';
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) ||
    listMarker(line) !== null;
}

function renderBlocks(lines, headingOffset, depth) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const body = [];
      i++;
      while (i < lines.length) {
        const close = lines[i].trim();
        if (close.length >= marker.length && close[0] === marker[0] && close === close[0].repeat(close.length)) {
          i++;
          break;
        }
        body.push(lines[i]);
        i++;
      }
      const code = document.createElement('code');
      code.textContent = body.join('\n');
      const pre = document.createElement('pre');
      pre.append(code);
      out.push(pre);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = Math.min(6, heading[1].length + headingOffset);
      const el = document.createElement(`h${level}`);
      el.append(...inline(heading[2] || ''));
      out.push(el);
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push(document.createElement('hr'));
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const quoted = QUOTE.exec(lines[i]);
        body.push(quoted ? quoted[1] : lines[i]);
        i++;
      }
      const quote = document.createElement('blockquote');
      if (depth < 4) quote.append(...renderBlocks(body, headingOffset, depth + 1));
      else quote.append(...inline(body.join('\n')));
      out.push(quote);
      continue;
    }
    const first = listMarker(line);
    if (first) {
      i = renderList(lines, i, first, headingOffset, depth, out);
      continue;
    }
    const paragraph = [];
    while (i < lines.length && !isBlank(lines[i]) && (paragraph.length === 0 || !startsBlock(lines[i]))) {
      paragraph.push(lines[i].trim());
      i++;
    }
    const p = document.createElement('p');
    p.append(...inline(paragraph.join('\n')));
    out.push(p);
  }
  return out;
}

// Consumes one list starting at lines[i]; returns the index after it.
function renderList(lines, i, first, headingOffset, depth, out) {
  const list = document.createElement(first.ordered ? 'ol' : 'ul');
  if (first.ordered && first.start !== 1) list.start = first.start;
  const sameKind = (m) => m && m.ordered === first.ordered && m.indent <= first.indent + 1 &&
    (first.ordered ? m.delimiter === first.delimiter : m.marker === first.marker);
  let marker = first;
  while (marker) {
    const itemLines = [marker.text];
    const contentIndent = marker.indent + marker.width;
    i++;
    let sawBlank = false;
    while (i < lines.length) {
      const next = lines[i];
      if (isBlank(next)) {
        sawBlank = true;
        i++;
        continue;
      }
      const indent = next.length - next.trimStart().length;
      if (indent >= Math.min(contentIndent, first.indent + 2)) {
        if (sawBlank) itemLines.push('');
        itemLines.push(next.slice(Math.min(indent, contentIndent)));
        sawBlank = false;
        i++;
        continue;
      }
      if (!sawBlank && !startsBlock(next)) {
        itemLines.push(next.trim()); // lazy continuation of the item's paragraph
        i++;
        continue;
      }
      break;
    }
    const item = document.createElement('li');
    const simple = itemLines.length === 1 || (depth >= 3) ||
      itemLines.slice(1).every((l) => !isBlank(l) && !startsBlock(l));
    if (simple) item.append(...inline(itemLines.filter((l) => !isBlank(l)).join('\n')));
    else item.append(...renderBlocks(itemLines, headingOffset, depth + 1));
    list.append(item);
    // Another item of the same list (possibly after blank lines)?
    const candidate = i < lines.length ? listMarker(lines[i]) : null;
    marker = sameKind(candidate) ? candidate : null;
    if (!marker && i > 0 && isBlank(lines[i - 1])) break;
  }
  out.push(list);
  return i;
}

/** Inline Markdown → array of nodes (text, strong, em, code, a, br). */
export function inline(text) {
  const nodes = [];
  let buffer = '';
  const flush = () => {
    if (buffer) nodes.push(document.createTextNode(buffer));
    buffer = '';
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length && PUNCTUATION.test(text[i + 1])) {
      buffer += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === '\n') {
      flush();
      nodes.push(document.createElement('br'));
      i++;
      continue;
    }
    if (ch === '`') {
      let run = 1;
      while (text[i + run] === '`') run++;
      const fence = '`'.repeat(run);
      let close = text.indexOf(fence, i + run);
      while (close !== -1 && text[close + run] === '`') {
        let end = close;
        while (text[end] === '`') end++;
        close = text.indexOf(fence, end);
      }
      if (close !== -1) {
        flush();
        const code = document.createElement('code');
        let content = text.slice(i + run, close).replace(/\n/g, ' ');
        if (content.length > 2 && content.startsWith(' ') && content.endsWith(' ')) content = content.slice(1, -1);
        code.textContent = content;
        nodes.push(code);
        i = close + run;
        continue;
      }
      buffer += fence;
      i += run;
      continue;
    }
    if (ch === '[') {
      const link = parseLink(text, i);
      if (link) {
        flush();
        const href = safeHref(link.url);
        if (href) {
          const a = document.createElement('a');
          a.href = href;
          a.rel = 'noopener noreferrer';
          a.target = '_blank';
          a.append(...inline(link.label));
          nodes.push(a);
        } else {
          nodes.push(document.createTextNode(text.slice(i, link.end)));
        }
        i = link.end;
        continue;
      }
    }
    if (ch === '<') {
      const match = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(text.slice(i));
      const href = match && safeHref(match[1]);
      if (href) {
        flush();
        const a = document.createElement('a');
        a.href = href;
        a.rel = 'noopener noreferrer';
        a.target = '_blank';
        a.textContent = match[1];
        nodes.push(a);
        i += match[0].length;
        continue;
      }
    }
    if (ch === '*' || ch === '_') {
      const emphasis = parseEmphasis(text, i);
      if (emphasis) {
        flush();
        const el = document.createElement(emphasis.strong ? 'strong' : 'em');
        el.append(...inline(emphasis.inner));
        nodes.push(el);
        i = emphasis.end;
        continue;
      }
      let run = 1;
      while (text[i + run] === ch) run++;
      buffer += ch.repeat(run);
      i += run;
      continue;
    }
    buffer += ch;
    i++;
  }
  flush();
  return nodes;
}

// [label](url "title") starting at text[start] === '['; null when it is not a link.
function parseLink(text, start) {
  let depth = 0;
  let i = start;
  for (; i < text.length; i++) {
    if (text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === '[') depth++;
    else if (text[i] === ']' && --depth === 0) break;
  }
  if (i >= text.length || text[i + 1] !== '(') return null;
  const label = text.slice(start + 1, i);
  let j = i + 2;
  let parens = 1;
  for (; j < text.length; j++) {
    if (text[j] === '\\') {
      j++;
      continue;
    }
    if (text[j] === '(') parens++;
    else if (text[j] === ')' && --parens === 0) break;
    else if (text[j] === '\n') return null;
  }
  if (j >= text.length) return null;
  let url = text.slice(i + 2, j).trim();
  const titled = /^(\S+)\s+(?:"[^"]*"|'[^']*')$/.exec(url);
  if (titled) url = titled[1];
  return { label, url, end: j + 1 };
}

// *em*, _em_, **strong**, __strong__ at text[start]; null when the delimiters do not pair up.
function parseEmphasis(text, start) {
  const ch = text[start];
  const strong = text[start + 1] === ch;
  const delimiter = strong ? ch + ch : ch;
  const open = start + delimiter.length;
  const wordChar = /[\p{L}\p{N}]/u;
  if (open >= text.length || /\s/.test(text[open])) return null;
  if (ch === '_' && start > 0 && wordChar.test(text[start - 1])) return null; // snake_case
  let search = open;
  while (search < text.length) {
    const close = text.indexOf(delimiter, search);
    if (close === -1) return null;
    const after = text[close + delimiter.length];
    const tooLong = !strong && after === ch; // "*a**" is not a closing single star
    const okBefore = !/\s/.test(text[close - 1]);
    const okAfter = ch !== '_' || after === undefined || !wordChar.test(after);
    if (close > open && okBefore && okAfter && !tooLong) {
      return { strong, inner: text.slice(open, close), end: close + delimiter.length };
    }
    search = close + 1;
  }
  return null;
}
