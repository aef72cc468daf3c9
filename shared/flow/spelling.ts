/** Suggestions for a misspelt name: the user typed `shop.ordrs`, we say `shop.orders`. */

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The one candidate within two edits of `word` (case ignored counts as zero), or undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= 2 ? best : undefined;
}

/**
 * Up to `limit` candidates near `word`, nearest first (ties by name): within
 * a third of the word's length in edits, one a prefix of the other
 * (`customer` for `customer_id`), or sharing the last dotted part, since
 * `sales.orders` for `shop.orders` is a likelier slip than any spelling.
 */
export function closeMatches(word: string, candidates: Iterable<string>, limit = 3): string[] {
  const lastPart = (s: string): string => s.slice(s.lastIndexOf('.') + 1);
  const maxEdits = Math.max(2, Math.floor(word.length / 3));
  const scored: { c: string; d: number }[] = [];
  for (const c of new Set(candidates)) {
    if (c === word) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    const [w, l] = [word.toLowerCase(), c.toLowerCase()];
    const prefix = Math.min(w.length, l.length) >= 3 && (l.startsWith(w) || w.startsWith(l));
    if (d <= maxEdits || prefix || lastPart(c) === lastPart(word)) scored.push({ c, d });
  }
  scored.sort((x, y) => x.d - y.d || (x.c < y.c ? -1 : x.c > y.c ? 1 : 0));
  return scored.slice(0, limit).map((x) => x.c);
}
