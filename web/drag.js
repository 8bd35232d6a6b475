// Reordering a vertical list by dragging, with pointer events (mouse, pen and touch alike; no
// HTML5 drag and drop, which touch screens and automation handle poorly).
//
// The dragged item follows the pointer and the other items slide (CSS transforms) to open a gap
// where it would land. Nothing moves in the DOM during the drag, so pointer capture holds; on
// release the caller commits the move to its model and redraws. Escape or pointercancel puts
// everything back. This is the pointer path only: the task page also offers buttons and keys
// for the same moves (WCAG 2.2 SC 2.5.7 Dragging Movements).

/**
 * Starts a drag from a pointerdown `event` on a handle inside `item` (a child of `list`).
 * onDrop(from, to) gets 0-based positions (equal when it lands where it started);
 * onCancel() runs after Escape or pointercancel. Mouse buttons other than the primary are
 * ignored.
 */
export function beginDrag(event, { list, item, onDrop, onCancel }) {
  if (event.pointerType === 'mouse' && event.button !== 0) return;
  event.preventDefault();
  const handle = event.currentTarget;
  const pointerId = event.pointerId;
  try {
    handle.setPointerCapture(pointerId);
  } catch {
    // Not capturable (e.g. already released); the window listeners below still see the events.
  }
  const docY = (clientY) => clientY + window.scrollY;
  const items = [...list.children];
  const startIndex = items.indexOf(item);
  const itemRect = item.getBoundingClientRect();
  const naturalTop = docY(itemRect.top);
  const grabOffset = docY(event.clientY) - naturalTop;
  const gap = parseFloat(getComputedStyle(list).rowGap) || 0;
  const step = itemRect.height + gap;
  // Where each other item would sit with the dragged one taken out of the list.
  const others = items.filter((el) => el !== item).map((el, k) => {
    const rect = el.getBoundingClientRect();
    const shift = k >= startIndex ? step : 0;
    return { el, top: docY(rect.top) - shift, bottom: docY(rect.bottom) - shift };
  });
  const listTop = docY(list.getBoundingClientRect().top);
  const slotTop = (p) => (p === 0 ? listTop : others[p - 1].bottom + gap);

  item.classList.add('dragging');
  list.classList.add('is-dragging');
  document.documentElement.classList.add('is-dragging-answer'); // no text selection meanwhile
  window.getSelection()?.removeAllRanges();
  item.focus({ preventScroll: true });
  let target = startIndex;
  let lastClientY = event.clientY;

  // The landing slot is the one whose top is nearest the dragged item's top.
  const place = (clientY) => {
    lastClientY = clientY;
    const visualTop = docY(clientY) - grabOffset;
    let best = 0;
    for (let p = 1; p <= others.length; p++) {
      if (Math.abs(slotTop(p) - visualTop) < Math.abs(slotTop(best) - visualTop)) best = p;
    }
    target = best;
    others.forEach((other, k) => {
      const offset = (k >= target ? step : 0) - (k >= startIndex ? step : 0);
      other.el.style.transform = offset ? `translateY(${offset}px)` : '';
    });
    item.style.transform = `translateY(${visualTop - naturalTop}px)`;
  };
  const onMove = (e) => {
    if (e.pointerId !== pointerId) return;
    e.preventDefault();
    place(e.clientY);
    const edge = 56;
    if (e.clientY < edge) window.scrollBy(0, -16);
    else if (e.clientY > window.innerHeight - edge) window.scrollBy(0, 16);
  };
  const onScroll = () => place(lastClientY);
  const finish = () => {
    window.removeEventListener('pointermove', onMove);
    window.removeEventListener('pointerup', onUp);
    window.removeEventListener('pointercancel', onPointerCancel);
    window.removeEventListener('keydown', onKey, true);
    window.removeEventListener('scroll', onScroll);
    try {
      if (handle.hasPointerCapture(pointerId)) handle.releasePointerCapture(pointerId);
    } catch {
      // Already released.
    }
    document.documentElement.classList.remove('is-dragging-answer');
    // The items already show the new order (translated): drop the transforms without
    // animating, so nothing slides back before the caller redraws the real order.
    list.classList.add('no-transition');
    list.classList.remove('is-dragging');
    item.classList.remove('dragging');
    for (const el of items) el.style.transform = '';
  };
  const settle = () => {
    void list.offsetHeight; // lay out without transitions before they come back
    list.classList.remove('no-transition');
  };
  const onUp = (e) => {
    if (e.pointerId !== pointerId) return;
    place(e.clientY);
    finish();
    onDrop(startIndex, target);
    settle();
  };
  const onPointerCancel = (e) => {
    if (e.pointerId !== pointerId) return;
    finish();
    settle();
    onCancel();
  };
  const onKey = (e) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    e.stopPropagation();
    finish();
    settle();
    onCancel();
  };
  window.addEventListener('pointermove', onMove);
  window.addEventListener('pointerup', onUp);
  window.addEventListener('pointercancel', onPointerCancel);
  window.addEventListener('keydown', onKey, true);
  window.addEventListener('scroll', onScroll, { passive: true });
}
