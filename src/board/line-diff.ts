// A line diff small enough to store with every board write (board-versions.ts): the hunks that
// turn one version of the board into the next. Tool writes change a few lines (a claim one, a
// move two places), so Myers' O((N+M)·D) search, after the common head and tail are cut off, costs
// little more than comparing the lines once. A person's rewrite of the whole board would cost
// N·D: past `maxEdits` the diff gives up and the caller stores the whole text instead.

/** Replace `remove` lines at `at` (a position in the old lines) with `insert`. */
export type Hunk = [at: number, remove: number, insert: string[]];

/** The hunks from `a` to `b`, in order of position; null when more than `maxEdits` lines differ. */
export function diffLines(a: readonly string[], b: readonly string[], maxEdits: number): Hunk[] | null {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const n = a.length - head - tail;
  const m = b.length - head - tail;
  if (n === 0 && m === 0) return [];
  if (n === 0 || m === 0) return n + m > maxEdits ? null : [[head, n, b.slice(head, head + m)]];
  const trace = searchEdits(a, b, head, n, m, maxEdits);
  return trace === null ? null : hunksOf(trace, a, b, head, n, m);
}

/** Applies `hunks` (old positions, in order) to `lines` in place. */
export function applyHunks(lines: string[], hunks: readonly Hunk[]): void {
  // From the last hunk back, so that every position still means what it meant in the old lines.
  for (let i = hunks.length - 1; i >= 0; i--) {
    const [at, remove, insert] = hunks[i]!;
    lines.splice(at, remove, ...insert);
  }
}

/**
 * Myers' greedy search over the middle part (a[head, head+n) against b[head, head+m)): the
 * furthest x reached on each diagonal k after d edits, one array per d for the walk back.
 */
function searchEdits(a: readonly string[], b: readonly string[], head: number, n: number, m: number, maxEdits: number): Int32Array[] | null {
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[head + x] === b[head + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice());
        return trace;
      }
    }
    trace.push(v.slice());
  }
  return null;
}

/** Walks the search back from (n, m) and gathers its deletions and insertions into hunks. */
function hunksOf(trace: readonly Int32Array[], a: readonly string[], b: readonly string[], head: number, n: number, m: number): Hunk[] {
  const offset = (trace[0]!.length - 3) / 2 + 1;
  // Each step back is a run of equal lines (the snake) and one edit before it.
  const edits: { del: boolean; x: number; y: number }[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const v = trace[d - 1]!;
    const k = x - y;
    const down = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
    const prevK = down ? k + 1 : k - 1;
    const prevX = v[offset + prevK]!;
    const prevY = prevX - prevK;
    // The edit: down is an insertion of b[prevY], right a deletion of a[prevX].
    edits.push(down ? { del: false, x: prevX, y: prevY } : { del: true, x: prevX, y: prevY });
    x = prevX;
    y = prevY;
  }
  edits.reverse();
  const hunks: Hunk[] = [];
  for (const edit of edits) {
    const at = head + edit.x;
    const last = hunks[hunks.length - 1];
    // Edits that touch (no equal line between them) make one hunk.
    const joins = last !== undefined && last[0] + last[1] === at;
    const hunk: Hunk = joins ? last : [at, 0, []];
    if (edit.del) hunk[1]++;
    else hunk[2].push(b[head + edit.y]!);
    if (!joins) hunks.push(hunk);
  }
  return hunks;
}
