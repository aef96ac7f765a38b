// Where the merged board's tasks go. The board's merge resolves every task first; what is left
// to merge is the free text. A three-way line merge over whole boards would also see the tasks,
// and a task that sits in a different place on each side (moved to the end of Ready by one
// side's failure, say) comes out twice. So the tasks are lifted out: each side's *skeleton*
// (the board without its task blocks) is merged by git, and the tasks are put back where ours'
// layout has them, after the same skeleton line, found in the merged skeleton by a line
// alignment (longest common subsequence).
import { splitLines } from '../board/parse-board.js';
import type { Board } from '../board/types.js';

export interface Skeleton {
  /** The board's lines outside every task with an ID, line ends included. */
  lines: string[];
  /** Task blocks (their lines, line ends included) after skeleton line i; -1: before the first. */
  gaps: Map<number, string[]>;
}

/** Lines with their line ends, so that a text is exactly their concatenation. */
export function rawLines(text: string): string[] {
  const { lines, eols } = splitLines(text);
  return lines.map((line, i) => line + eols[i]);
}

export function skeletonOf(board: Board): Skeleton {
  const raw = rawLines(board.text);
  const inTask = new Uint8Array(raw.length + 2);
  for (const task of board.tasks) if (task.id !== null) inTask.fill(1, task.line, task.endLine + 1);
  const lines: string[] = [];
  const gaps = new Map<number, string[]>();
  raw.forEach((line, i) => {
    if (!inTask[i + 1]) return void lines.push(line);
    const gap = lines.length - 1;
    const block = gaps.get(gap) ?? [];
    block.push(line);
    gaps.set(gap, block);
  });
  return { lines, gaps };
}

/** The merged skeleton with ours' task blocks put back after the lines they followed in ours. */
export function placeTasks(ours: Skeleton, merged: string[], eol: string): string {
  const to = alignLines(ours.lines, merged);
  // Each gap goes after the merged line its skeleton line became, or the nearest earlier one kept.
  const after = new Map<number, string[]>();
  for (const [gap, block] of ours.gaps) {
    let target = -1;
    for (let i = gap; i >= 0; i--) {
      if (to[i]! >= 0) {
        target = to[i]!;
        break;
      }
    }
    after.set(target, [...(after.get(target) ?? []), ...block]);
  }
  const out: string[] = [];
  const put = (block: string[] | undefined): void => {
    if (!block) return;
    // A block placed after a last line without a line end must not run into it.
    if (out.length > 0 && !out[out.length - 1]!.endsWith('\n')) out[out.length - 1] += eol;
    out.push(...block);
  };
  put(after.get(-1));
  merged.forEach((line, i) => {
    out.push(line);
    put(after.get(i));
  });
  return out.join('');
}

/** For each line of `a`, the index of the line of `b` it is matched with in a longest common subsequence, or -1. */
export function alignLines(a: string[], b: string[]): Int32Array {
  const to = new Int32Array(a.length).fill(-1);
  // Equal heads and tails match one to one; only the middle needs the table.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) to[head] = head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) {
    to[a.length - 1 - tail] = b.length - 1 - tail;
    tail++;
  }
  const n = a.length - head - tail;
  const m = b.length - head - tail;
  if (n === 0 || m === 0) return to;
  if (n * m > 25_000_000) {
    // Too large a middle for the table (free text is small on any real board): match in order.
    let j = 0;
    for (let i = 0; i < n && j < m; i++) {
      const found = b.indexOf(a[head + i]!, head + j);
      if (found >= 0 && found < head + m) {
        to[head + i] = found;
        j = found - head + 1;
      }
    }
    return to;
  }
  // lcs[i][j]: the longest common subsequence of a's middle from i and b's middle from j.
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] = a[head + i] === b[head + j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    }
  }
  for (let i = 0, j = 0; i < n && j < m; ) {
    if (a[head + i] === b[head + j]) {
      to[head + i] = head + j;
      i++;
      j++;
    } else if (lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!) i++;
    else j++;
  }
  return to;
}
