/** "Did you mean" for misspelt field names: only a close match, and only one. */

/** Levenshtein distance with adjacent transpositions (`adresses`/`addresses` 1, `prot`/`port` 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i += 1) d[i * cols] = i;
  for (let j = 0; j < cols; j += 1) d[j] = j;
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < cols; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/** How far a word of this length may be from the field it was meant to be. */
const tolerance = (length: number): number => (length <= 3 ? 0 : length <= 5 ? 1 : 2);

/**
 * The one allowed name `word` most likely misspells: the same name in another case, else the
 * only closest name within a small edit distance (ignoring case). Undefined when nothing is
 * close or two names are equally close.
 */
export function closestName(word: string, allowed: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const sameCase = allowed.find((name) => name.toLowerCase() === lower);
  if (sameCase) return sameCase;
  if (word.length > 64) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let tie = false;
  for (const name of allowed) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
      tie = false;
    } else if (distance === bestDistance) tie = true;
  }
  if (best === undefined || tie) return undefined;
  return bestDistance <= tolerance(Math.min(word.length, best.length)) ? best : undefined;
}
