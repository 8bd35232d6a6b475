// The ranking model of one dimension, without any DOM: the task page draws it.
//
// The list order is the ranking: position 0 is the best answer. With ties allowed, an answer
// can be "tied with the one above" and then shares its rank. Ranks are competition style
// (1, 1, 3): an answer's rank is 1 + the number of answers strictly better than it.
//
// Answers are identified by their `index` in the responses file (the API's answer index), never
// by their position on screen; `ranksByIndex()` gives the submit payload's ranks[d].

export class Ranking {
  /**
   * @param {number[]} indices answer indices in display order (the starting ranking)
   * @param {boolean} allowTies whether "tie with above" is offered
   */
  constructor(indices, allowTies) {
    this.order = indices.slice();
    this.allowTies = Boolean(allowTies);
    this.tied = new Set(); // answer indices tied with the answer directly above them
    this.touched = false; // the annotator has acted on this ranking (move, rank key, tie, keep)
  }

  get size() {
    return this.order.length;
  }

  positionOf(index) {
    return this.order.indexOf(index);
  }

  /** Competition rank of each position: [1, 1, 3, 4]. */
  ranksByPosition() {
    const ranks = [];
    this.order.forEach((index, position) => {
      ranks.push(position > 0 && this.tied.has(index) ? ranks[position - 1] : position + 1);
    });
    return ranks;
  }

  rankOf(index) {
    return this.ranksByPosition()[this.positionOf(index)];
  }

  /** ranks[i] = rank of the answer whose index is i (the submit payload for this dimension). */
  ranksByIndex() {
    const byPosition = this.ranksByPosition();
    const ranks = new Array(this.order.length).fill(null);
    this.order.forEach((index, position) => {
      if (!Number.isInteger(index) || index < 0 || index >= ranks.length) {
        throw new Error(`answer index ${index} is outside 0..${ranks.length - 1}`);
      }
      ranks[index] = byPosition[position];
    });
    return ranks;
  }

  /**
   * Moves answer `index` to `position` (0-based, clamped); returns the new position.
   * Ties never silently follow a move into a new pair: the moved answer, the answer that
   * followed it at its old place and the answer that now follows it all stop being tied, and
   * the top answer can never be tied. The rank badges show the result.
   */
  move(index, position) {
    const from = this.positionOf(index);
    if (from === -1) throw new Error(`unknown answer index ${index}`);
    const to = Math.max(0, Math.min(this.order.length - 1, position));
    if (from !== to) {
      const oldFollower = this.order[from + 1];
      this.order.splice(from, 1);
      this.order.splice(to, 0, index);
      this.tied.delete(index);
      this.tied.delete(oldFollower);
      this.tied.delete(this.order[to + 1]);
    } else {
      this.tied.delete(index);
    }
    this.tied.delete(this.order[0]);
    this.touched = true;
    return to;
  }

  /** Sets or clears "tied with the answer above"; false when not possible (top, no ties). */
  setTied(index, tied) {
    const position = this.positionOf(index);
    if (!this.allowTies || position <= 0) return false;
    if (tied) this.tied.add(index);
    else this.tied.delete(index);
    this.touched = true;
    return true;
  }

  isTied(index) {
    return this.tied.has(index);
  }

  /** The annotator says the order shown is their ranking. */
  keep() {
    this.touched = true;
  }

  /** Whether this ranking can be submitted: the annotator has acted on it. */
  get complete() {
    return this.touched;
  }
}
