// Table and progress helpers for the admin pages (text only through textContent).
import { h } from './dom.js';

/**
 * table(caption, headers, rows, {className, showCaption}) → <table>.
 * A cell is a Node, a string/number, or {value, numeric, className, node}.
 */
export function table(caption, headers, rows, options = {}) {
  const head = h('thead', {}, h('tr', {}, headers.map((title, i) => {
    const spec = typeof title === 'object' && title !== null && !(title instanceof Node) ? title : { text: title };
    return h('th', { scope: 'col', class: spec.numeric ? 'num' : null, 'aria-sort': spec.sort || null, dataset: { column: String(i) } },
      spec.text);
  })));
  const body = h('tbody', {}, rows.map((cells) => {
    const row = h('tr', {});
    for (const [i, cell] of cells.entries()) {
      const spec = cell !== null && typeof cell === 'object' && !(cell instanceof Node) && !Array.isArray(cell)
        ? cell : { node: cell };
      const classes = [spec.numeric ? 'num' : null, spec.className || null].filter(Boolean).join(' ') || null;
      const content = spec.node !== undefined ? spec.node : spec.value;
      const tag = i === 0 && options.rowHeaders ? 'th' : 'td';
      row.append(h(tag, { class: classes, scope: tag === 'th' ? 'row' : null },
        content === null || content === undefined ? '—' : content));
    }
    return row;
  }));
  return h('table', { class: ['data', options.className].filter(Boolean).join(' ') },
    h('caption', { class: options.showCaption ? null : 'visually-hidden' }, caption),
    head, body);
}

/** A <progress> bar with a visible text label (the label is also its accessible name). */
export function progressCell(value, max, label) {
  const safeMax = Math.max(1, Number(max) || 0);
  const safeValue = Math.min(safeMax, Math.max(0, Number(value) || 0));
  const percent = Math.round((safeValue / safeMax) * 100);
  const text = h('span', { class: 'progress-label', text: label });
  const bar = h('progress', { max: String(safeMax), value: String(safeValue), 'aria-label': `${label} (${percent}%)` });
  return h('div', { class: 'progress-cell' }, bar, text);
}
