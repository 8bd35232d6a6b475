// The blind pairwise (A/B) view of the task page (task.js draws it for jobs of kind "pairwise").
//
// Two answers side by side (stacked on narrow screens), labelled only "A" and "B" in the order
// the server sent them; the system behind each is never sent to the browser. The annotator
// picks one verdict — "A is better", "B is better", "Tie" or, when the job offers it,
// "Both bad" — with a click or a key (a, b, t, x), may say why, and submits. This module only
// builds the DOM and keeps the choice; task.js owns the keys, the submit and the flow.
// Answer texts are untrusted: they go in through textContent only.

import { h, letter } from './dom.js';

/** Every verdict the API knows, in the order the buttons are shown. */
const VERDICTS = [
  { value: 'A', label: 'A is better', key: 'a', mark: { A: 'Better' } },
  { value: 'B', label: 'B is better', key: 'b', mark: { B: 'Better' } },
  { value: 'tie', label: 'Tie', key: 't', mark: { A: 'Tie', B: 'Tie' } },
  { value: 'both_bad', label: 'Both bad', key: 'x', mark: { A: 'Bad', B: 'Bad' } },
];

/** The key that goes with Enter to submit from the "Why?" box (Cmd on Apple systems). */
const MODIFIER = /Mac|iPhone|iPad/.test(navigator.platform || '') ? '⌘' : 'Ctrl';

/** The verdicts this job offers ("Both bad" only where the job says so). */
export function verdictsFor(job) {
  return VERDICTS.filter((v) => v.value !== 'both_bad' || Boolean(job.offer_both_bad));
}

export class PairwiseView {
  /**
   * @param {object} task the API's task (task.answers: exactly two, in display order)
   * @param {{onChoose: function(string): void}} hooks called after a verdict button is pressed
   */
  constructor(task, hooks) {
    this.task = task;
    this.hooks = hooks;
    this.options = verdictsFor(task.job);
    this.verdict = null;
    this.answers = (task.answers || []).slice(0, 2).map((answer, position) => ({
      answer, letter: letter(position),
    }));
    this.question = (task.job.dimensions && task.job.dimensions[0]) || 'Which answer is better?';
    this.cards = new Map(); // letter → {article, mark}
    this.buttons = new Map(); // verdict → button
  }

  /** The option for a key press ("a", "B", ...), or null. */
  optionForKey(key) {
    const k = String(key).toLowerCase();
    return this.options.find((o) => o.key === k) || null;
  }

  labelOf(verdict) {
    const option = this.options.find((o) => o.value === verdict);
    return option ? option.label : '';
  }

  /** The section with the two answers. */
  renderAnswers() {
    const state = h('p', { class: 'dimension-state', id: 'pairwise-state' });
    this.state = state;
    const pair = h('div', { class: 'pair' },
      this.answers.map(({ answer, letter: l }) => this.renderAnswer(answer, l)));
    return h('section', { class: 'pairwise', 'aria-labelledby': 'pairwise-heading' },
      h('div', { class: 'dimension-head' },
        h('h2', { id: 'pairwise-heading', text: this.question }),
        state),
      h('p', { class: 'help', id: 'pairwise-help' },
        'Read both answers, then choose below which one is better.'),
      h('div', { class: 'pair-wrap' }, pair));
  }

  renderAnswer(answer, l) {
    const titleId = `answer-${l}-title`;
    const mark = h('span', { class: 'verdict-mark', hidden: true });
    const article = h('article', {
      class: 'pair-answer', 'aria-labelledby': titleId, dataset: { letter: l, index: String(answer.index) },
    },
    h('div', { class: 'pair-answer-head' },
      h('span', { class: 'answer-letter', 'aria-hidden': 'true' }, l),
      h('h3', { class: 'card-title', id: titleId }, `Answer ${l}`),
      mark),
    h('div', { class: 'answer-text', id: `answer-${l}-text`, text: answer.text }));
    this.cards.set(l, { article, mark });
    return article;
  }

  /** The panel with the verdict buttons and the "Why?" box (`comment`, made by the caller). */
  renderChoice(comment) {
    const group = h('div', {
      class: 'verdict-buttons', role: 'group', 'aria-labelledby': 'choice-heading',
      'aria-describedby': 'choice-help',
    });
    for (const option of this.options) {
      const button = h('button', {
        type: 'button',
        class: `verdict-button verdict-${option.value.replace('_', '-')}`,
        id: `verdict-${option.value}`,
        'aria-pressed': 'false',
        'aria-keyshortcuts': option.key.toUpperCase(),
        dataset: { verdict: option.value },
      },
      h('span', { class: 'verdict-label' }, option.label),
      h('kbd', { 'aria-hidden': 'true' }, option.key.toUpperCase()));
      button.addEventListener('click', () => {
        this.choose(option.value);
        this.hooks.onChoose(option.value);
      });
      this.buttons.set(option.value, button);
      group.append(button);
    }
    comment.setAttribute('aria-describedby', 'comment-hint');
    return h('section', { class: 'panel choice-panel', 'aria-labelledby': 'choice-heading' },
      h('h2', { id: 'choice-heading' }, 'Your choice'),
      h('p', { class: 'help keys-help', id: 'choice-help' }, 'Keys: ',
        this.options.map((o, i) => [
          i === 0 ? '' : ', ',
          h('kbd', {}, o.key.toUpperCase()),
          o.value === 'A' || o.value === 'B' ? '' : ` (${o.label.toLowerCase()})`,
        ]),
        ' choose; ', h('kbd', {}, 'Enter'), ' submits.'),
      group,
      h('div', { class: 'field' },
        h('label', { for: comment.id }, 'Why? ', h('span', { class: 'optional' }, '(optional)')),
        h('p', { class: 'field-hint', id: 'comment-hint' },
          'A short reason helps the team lead, e.g. what made one answer better. ',
          h('kbd', {}, MODIFIER), '+', h('kbd', {}, 'Enter'), ' submits from this box.'),
        comment));
  }

  /** Sets the verdict (one of this job's options) and redraws the buttons and answer marks. */
  choose(verdict) {
    if (!this.options.some((o) => o.value === verdict)) return false;
    this.verdict = verdict;
    this.update();
    return true;
  }

  update() {
    const chosen = this.options.find((o) => o.value === this.verdict) || null;
    for (const [value, button] of this.buttons) {
      button.setAttribute('aria-pressed', String(value === this.verdict));
    }
    for (const [l, card] of this.cards) {
      const text = chosen ? chosen.mark[l] || '' : '';
      card.mark.textContent = text;
      card.mark.hidden = !text;
      card.article.dataset.mark = text ? text.toLowerCase() : '';
    }
    if (this.state) {
      this.state.textContent = chosen ? `Chosen: ${chosen.label}` : 'Not chosen yet';
      this.state.classList.toggle('is-complete', Boolean(chosen));
    }
  }
}
