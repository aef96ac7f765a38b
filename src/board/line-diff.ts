// A line diff small enough to store with every board write (board-versions.ts): the hunks that
// turn one version of the board into the next. Tool writes change a few lines (a claim one, a
// move two places), so Myers' O((N+M)·D) search, after the common head and tail are cut off, costs
// little more than comparing the lines once. A diff that is not small (a stale save recorded after
// a thousand tool writes: D in the thousands on a 10,000-task board) would cost N·D time and, for
// the walk back, D² memory: past a few edits the lines found once on each side (task lines, with
// their IDs, nearly all are) are matched up first, their longest run in order taken as fixed
// points, and Myers runs on the small gaps between them. That diff is not always the smallest,
// only valid and near it; past `maxEdits` lines the diff gives up and the caller stores the whole
// text instead.

/** Replace `remove` lines at `at` (a position in the old lines) with `insert`. */
export type Hunk = [at: number, remove: number, insert: string[]];

/** Past this many edits in one gap, Myers gives way to matching the lines found once on each side. */
const EXACT_EDITS = 64;

/** The hunks from `a` to `b`, in order of position; null when more than `maxEdits` lines differ. */
export function diffLines(a: readonly string[], b: readonly string[], maxEdits: number): Hunk[] | null {
  const hunks: Hunk[] = [];
  return diffRange({ a, b, hunks, budget: maxEdits }, 0, a.length, 0, b.length) ? hunks : null;
}

interface DiffState {
  a: readonly string[];
  b: readonly string[];
  /** Gathered in order of position. */
  hunks: Hunk[];
  /** Edits still allowed. */
  budget: number;
}

/** Diffs a[aFrom, aTo) against b[bFrom, bTo) into `state.hunks`; false when past the budget. */
function diffRange(state: DiffState, aFrom: number, aTo: number, bFrom: number, bTo: number): boolean {
  const { a, b } = state;
  while (aFrom < aTo && bFrom < bTo && a[aFrom] === b[bFrom]) aFrom++, bFrom++;
  while (aFrom < aTo && bFrom < bTo && a[aTo - 1] === b[bTo - 1]) aTo--, bTo--;
  const n = aTo - aFrom;
  const m = bTo - bFrom;
  if (n === 0 && m === 0) return true;
  if (n === 0 || m === 0) return spend(state, [aFrom, n, b.slice(bFrom, bTo)]);
  const trace = searchEdits(state, aFrom, n, bFrom, m, Math.min(state.budget, EXACT_EDITS));
  if (trace !== null) {
    for (const hunk of hunksOf(trace, state, aFrom, n, bFrom, m)) if (!spend(state, hunk)) return false;
    return true;
  }
  if (state.budget <= EXACT_EDITS) return false;
  const anchors = uniqueAnchors(a, aFrom, aTo, b, bFrom, bTo);
  if (anchors.length === 0) {
    const wide = searchEdits(state, aFrom, n, bFrom, m, state.budget);
    if (wide === null) return false;
    for (const hunk of hunksOf(wide, state, aFrom, n, bFrom, m)) if (!spend(state, hunk)) return false;
    return true;
  }
  let [x, y] = [aFrom, bFrom];
  for (const [ax, by] of anchors) {
    if (!diffRange(state, x, ax, y, by)) return false;
    [x, y] = [ax + 1, by + 1];
  }
  return diffRange(state, x, aTo, y, bTo);
}

/** Adds a hunk (joined to the last when they touch) and charges its lines to the budget. */
function spend(state: DiffState, hunk: Hunk): boolean {
  state.budget -= hunk[1] + hunk[2].length;
  if (state.budget < 0) return false;
  const last = state.hunks[state.hunks.length - 1];
  if (last !== undefined && last[0] + last[1] === hunk[0]) {
    last[1] += hunk[1];
    last[2].push(...hunk[2]);
  } else {
    state.hunks.push(hunk);
  }
  return true;
}

/**
 * The lines found exactly once in a[aFrom, aTo) and once in b[bFrom, bTo), as (a position, b
 * position) pairs, the longest run of them in the same order on both sides (patience sorting).
 */
function uniqueAnchors(a: readonly string[], aFrom: number, aTo: number, b: readonly string[], bFrom: number, bTo: number): [number, number][] {
  const inA = new Map<string, number>();
  for (let i = aFrom; i < aTo; i++) inA.set(a[i]!, inA.has(a[i]!) ? -1 : i);
  const inB = new Map<string, number>();
  for (let j = bFrom; j < bTo; j++) if (inA.has(b[j]!)) inB.set(b[j]!, inB.has(b[j]!) ? -1 : j);
  const pairs: [number, number][] = [];
  for (let i = aFrom; i < aTo; i++) {
    const j = inB.get(a[i]!);
    if (inA.get(a[i]!) === i && j !== undefined && j >= 0) pairs.push([i, j]);
  }
  // Longest increasing run of b positions, in a's order: piles' tops, each with its predecessor.
  const tops: number[] = [];
  const before = new Int32Array(pairs.length).fill(-1);
  for (let p = 0; p < pairs.length; p++) {
    let [lo, hi] = [0, tops.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tops[mid]!]![1] < pairs[p]![1]) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) before[p] = tops[lo - 1]!;
    tops[lo] = p;
  }
  const run: [number, number][] = [];
  for (let p = tops.length > 0 ? tops[tops.length - 1]! : -1; p >= 0; p = before[p]!) run.push(pairs[p]!);
  return run.reverse();
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
 * Myers' greedy search over a[aFrom, aFrom+n) against b[bFrom, bFrom+m): the furthest x reached
 * on each diagonal k after d edits. For the walk back, each d keeps only the diagonals it can
 * have reached (-d..d): D² memory in all, not D times the whole array.
 */
function searchEdits(state: DiffState, aFrom: number, n: number, bFrom: number, m: number, maxEdits: number): Int32Array[] | null {
  const { a, b } = state;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[aFrom + x] === b[bFrom + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        trace.push(v.slice(offset - d - 1, offset + d + 2));
        return trace;
      }
    }
    // Diagonals -d-1..d+1: the next d reads its neighbours from here.
    trace.push(v.slice(offset - d - 1, offset + d + 2));
  }
  return null;
}

/** Walks the search back from (n, m) and gathers its deletions and insertions into hunks. */
function hunksOf(trace: readonly Int32Array[], state: DiffState, aFrom: number, n: number, bFrom: number, m: number): Hunk[] {
  // trace[d][i] is diagonal i - d - 1.
  const at = (d: number, k: number): number => trace[d]![k + d + 1]!;
  // Each step back is a run of equal lines (the snake) and one edit before it.
  const edits: { del: boolean; x: number; y: number }[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const k = x - y;
    const down = k === -d || (k !== d && at(d - 1, k - 1) < at(d - 1, k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(d - 1, prevK);
    const prevY = prevX - prevK;
    // The edit: down is an insertion of b[prevY], right a deletion of a[prevX].
    edits.push({ del: !down, x: prevX, y: prevY });
    x = prevX;
    y = prevY;
  }
  edits.reverse();
  const hunks: Hunk[] = [];
  for (const edit of edits) {
    const position = aFrom + edit.x;
    const last = hunks[hunks.length - 1];
    // Edits that touch (no equal line between them) make one hunk.
    const joins = last !== undefined && last[0] + last[1] === position;
    const hunk: Hunk = joins ? last : [position, 0, []];
    if (edit.del) hunk[1]++;
    else hunk[2].push(state.b[bFrom + edit.y]!);
    if (!joins) hunks.push(hunk);
  }
  return hunks;
}
