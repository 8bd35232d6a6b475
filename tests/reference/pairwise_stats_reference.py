#!/usr/bin/python3
"""Independent reference for tenet/eval/statistics.h (tests/eval/statistics_test.cpp hard-codes its output).

Plain Python 3, standard library only (Debian 12 has no scipy for /usr/bin/python3). Shares no code
with the C++ and takes other routes where it can:
  - Wilson interval: the roots of the quadratic (p̂ - p)² = z² p (1 - p) / n, by the quadratic
    formula, instead of the centre ± half-width form.
  - Sign test: exact rational arithmetic (big integers, fractions.Fraction, one correctly rounded
    conversion to float) up to 200,000 votes; at a million, log C(n, k) as an fsum of logs times an
    fsum of the tail's ratios (within 1e-11 of the exact value at 200,000), printed beside a plain
    lgamma sum and the normal approximation as sanity checks.
  - Bradley–Terry: Hunter's (2004) MM algorithm, γ_i ← W_i / Σ_j N_ij / (γ_i + γ_j), instead of
    Newton; the degenerate two-system case by bisection on its stationarity equation
    n (1 - σ(d)) = λ d / 2 (λ = 1e-4: the prior tenet uses when the MLE does not exist).
  - Bootstrap: mt19937_64 written out from its definition (checked against the C++ standard's
    value for the 10000th draw), the documented rejection rule for indices, MM on every resample
    (each checked to have an MLE, so no prior is involved), numpy-style linear percentiles.

Run: /usr/bin/python3 tests/reference/pairwise_stats_reference.py   (about 10 s)
"""
import math
from fractions import Fraction

Z95 = 1.959963984540054
LAMBDA = 1e-4
MASK64 = (1 << 64) - 1


# ---- Wilson (1927) ----
def wilson(wins, ties, losses, z=Z95):
    n = wins + ties + losses
    if n == 0:
        return 0.5, 0.0, 1.0
    p_hat = (wins + ties / 2) / n
    # (1 + z²/n) p² - (2 p̂ + z²/n) p + p̂² = 0
    a = 1 + z * z / n
    b = -(2 * p_hat + z * z / n)
    c = p_hat * p_hat
    disc = math.sqrt(b * b - 4 * a * c)
    return p_hat, (-b - disc) / (2 * a), (-b + disc) / (2 * a)


# ---- sign test ----
def sign_test_exact(wins, losses):
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    if 2 * k == n:
        return 1.0
    c, total = 1, 1
    for i in range(1, k + 1):
        c = c * (n - i + 1) // i
        total += c
    return min(1.0, float(Fraction(2 * total, 1 << n)))


def sign_test_lgamma_fsum(wins, losses):
    n = wins + losses
    k = min(wins, losses)
    ln2 = math.log(2)
    lg = math.lgamma
    terms = [math.exp(lg(n + 1) - lg(i + 1) - lg(n - i + 1) - n * ln2) for i in range(k + 1)]
    return min(1.0, 2 * math.fsum(terms))


def sign_test_log_fsum(wins, losses):
    """The tail with log C(n, k) as an fsum of logs (no lgamma; about 1e-11 relative)."""
    n = wins + losses
    k = min(wins, losses)
    log_top = math.fsum([math.log((n - k + i) / i) for i in range(1, k + 1)] + [-n * math.log(2)])
    rel, term = [1.0], 1.0
    for i in range(k, 0, -1):
        term *= i / (n - i + 1)
        rel.append(term)
    return min(1.0, 2 * math.exp(log_top) * math.fsum(rel))


def sign_test_normal(wins, losses):
    n = wins + losses
    z = (abs(wins - losses) - 1) / math.sqrt(n)  # with continuity correction
    return math.erfc(z / math.sqrt(2))


# ---- Bradley–Terry ----
def tally(k, votes):
    w = [[0.0] * k for _ in range(k)]
    for a, b, s in votes:
        w[a][b] += s
        w[b][a] += 1 - s
    return w


def strongly_connected(w):
    k = len(w)
    for forward in (True, False):
        seen = {0}
        stack = [0]
        while stack:
            i = stack.pop()
            for j in range(k):
                p = w[i][j] if forward else w[j][i]
                if p > 0 and j not in seen:
                    seen.add(j)
                    stack.append(j)
        if len(seen) != k:
            return False
    return True


def bt_mm(w):
    """Hunter (2004) MM for the Bradley–Terry MLE; returns Elo-like scores with mean 1000."""
    k = len(w)
    assert strongly_connected(w), "no MLE: the reference handles only the regular case"
    wins = [sum(w[i]) for i in range(k)]
    gamma = [1.0] * k
    for _ in range(100000):
        new = []
        for i in range(k):
            denom = sum((w[i][j] + w[j][i]) / (gamma[i] + gamma[j]) for j in range(k) if j != i)
            new.append(wins[i] / denom)
        g = math.exp(sum(math.log(x) for x in new) / k)  # geometric mean 1: mean θ = 0
        new = [x / g for x in new]
        change = max(abs(math.log(x / y)) for x, y in zip(new, gamma))
        gamma = new
        if change < 1e-15:
            break
    else:
        raise RuntimeError("MM did not converge")
    return [1000 + 400 * math.log10(x) for x in gamma]


def degenerate_two_system_gap(n):
    """A beats B n times out of n: the prior's d = θ_A − θ_B solves n (1 − σ(d)) = λ d / 2."""
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        f = n / (1 + math.exp(mid)) - LAMBDA * mid / 2  # n (1 - σ(d)) = n / (1 + e^d)
        lo, hi = (mid, hi) if f > 0 else (lo, mid)
    d = (lo + hi) / 2
    return 400 * d / math.log(10)


class MT19937_64:
    """The 64-bit Mersenne Twister as [rand.predef] of the C++ standard defines std::mt19937_64."""

    def __init__(self, seed):
        self.mt = [0] * 312
        self.mt[0] = seed & MASK64
        for i in range(1, 312):
            prev = self.mt[i - 1]
            self.mt[i] = (6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64
        self.index = 312

    def _twist(self):
        upper, lower = 0xFFFFFFFF80000000, 0x7FFFFFFF
        for i in range(312):
            x = (self.mt[i] & upper) | (self.mt[(i + 1) % 312] & lower)
            xa = x >> 1
            if x & 1:
                xa ^= 0xB5026F5AA96619E9
            self.mt[i] = self.mt[(i + 156) % 312] ^ xa
        self.index = 0

    def __call__(self):
        if self.index >= 312:
            self._twist()
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & MASK64


def draw_index(gen, n):
    rejected = (1 << 64) % n
    while True:
        x = gen()
        if x < (1 << 64) - rejected:
            return x % n


def percentile(sorted_values, q):
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    if lo + 1 >= len(sorted_values):
        return sorted_values[-1]
    return sorted_values[lo] + (pos - lo) * (sorted_values[lo + 1] - sorted_values[lo])


def bt_bootstrap(k, votes, rounds, seed):
    gen = MT19937_64(seed)
    samples = [[] for _ in range(k)]
    for _ in range(rounds):
        resample = [votes[draw_index(gen, len(votes))] for _ in range(len(votes))]
        scores = bt_mm(tally(k, resample))
        for i in range(k):
            samples[i].append(scores[i])
    return [(percentile(sorted(s), 0.025), percentile(sorted(s), 0.975)) for s in samples]


def repeat(votes, a, b, a_score, count):
    votes.extend([(a, b, a_score)] * count)


def main():
    gen = MT19937_64(5489)
    for _ in range(9999):
        gen()
    assert gen() == 9981545732273789042, "mt19937_64 does not match the C++ standard"

    print("# Wilson: (wins, ties, losses) -> estimate, low, high")
    for w, t, l in [(7, 0, 3), (6, 2, 2), (10, 0, 0), (0, 0, 10), (0, 10, 0), (37, 11, 52)]:
        print(f"wilson{(w, t, l)} = {wilson(w, t, l)!r}")

    print("# sign test, exact rationals: (wins, losses) -> p")
    for w, l in [(9, 1), (1, 9), (5, 5), (0, 0), (7, 3), (60, 40), (30, 31), (100, 80), (100500, 99500)]:
        print(f"sign_test{(w, l)} = {sign_test_exact(w, l)!r}")
    w, l = 500980, 499020
    print(f"sign_test{(w, l)} log-fsum = {sign_test_log_fsum(w, l)!r}"
          f"  lgamma+fsum = {sign_test_lgamma_fsum(w, l)!r}  normal approx = {sign_test_normal(w, l)!r}")
    w, l = 100500, 99500
    print(f"sign_test{(w, l)} log-fsum = {sign_test_log_fsum(w, l)!r} (the exact value is above)")

    print("# Bradley-Terry, mean score 1000")
    two = []
    repeat(two, 0, 1, 1.0, 3)
    repeat(two, 0, 1, 0.0, 1)
    print(f"bt A 3-1 B = {bt_mm(tally(2, two))!r}  (exact: 1000 +- 200 log10 3 = {200 * math.log10(3)!r})")
    print(f"bt A 5-0 B (prior) score gap = {degenerate_two_system_gap(5)!r}")

    # Systems 0 "base", 1 "dpo", 2 "dpo+sft"; in this order (the bootstrap indexes into it).
    three = []
    repeat(three, 0, 1, 1.0, 5)
    repeat(three, 0, 1, 0.0, 14)
    repeat(three, 0, 1, 0.5, 3)
    repeat(three, 0, 2, 1.0, 4)
    repeat(three, 0, 2, 0.0, 16)
    repeat(three, 0, 2, 0.5, 2)
    repeat(three, 1, 2, 1.0, 8)
    repeat(three, 1, 2, 0.0, 11)
    repeat(three, 1, 2, 0.5, 4)
    print(f"bt three systems ({len(three)} votes) = {bt_mm(tally(3, three))!r}")
    for seed in (0, 42):
        print(f"bt three systems bootstrap 1000 rounds seed {seed}: (low, high) = {bt_bootstrap(3, three, 1000, seed)!r}")


if __name__ == "__main__":
    main()
