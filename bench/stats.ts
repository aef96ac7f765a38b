import type { FigureRow } from './crash-safety.js';
// Small statistics for the benchmark harness: medians and percentiles of samples, never means
// (one slow run on a shared machine moves a mean, not a median).

/** The q-quantile (0..1) by linear interpolation between the closest ranks. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);
export const p90 = (values: readonly number[]): number => quantile(values, 0.9);
export const min = (values: readonly number[]): number => (values.length ? Math.min(...values) : Number.NaN);
export const max = (values: readonly number[]): number => (values.length ? Math.max(...values) : Number.NaN);

/** Element-wise ratios of two equally long, paired sample lists (subject[i] / baseline[i]). */
export function pairedRatios(subject: readonly number[], baseline: readonly number[]): number[] {
  const n = Math.min(subject.length, baseline.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(subject[i]! / baseline[i]!);
  return out;
}

/** `n` rotated so that item `shift % n` comes first; reversed on odd cycles, so that across
 * samples every subject runs in every position and after every other subject. */
export function rotation<T>(items: readonly T[], shift: number): T[] {
  const n = items.length;
  const k = ((shift % n) + n) % n;
  const rotated = [...items.slice(k), ...items.slice(0, k)];
  return Math.floor(shift / n) % 2 === 1 ? rotated.reverse() : rotated;
}

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** What a bench part run alone prints: one entry per figure, then its method paragraph. */
export function printStandalone(rows: readonly FigureRow[], method: string): void {
  for (const row of rows) {
    const subject = row.show?.subject ?? `${fmt(median(row.subject), row.digits)} ${row.unit}`;
    const baseline = row.show?.baseline ?? `${fmt(median(row.baseline), row.digits)} ${row.unit}`;
    const ratio = row.show?.ratio ?? `${fmt(median(row.subject) / median(row.baseline), 2)}x`;
    process.stdout.write(`${row.figure}\n  subject ${subject}, baseline ${baseline}, ratio ${ratio}, target ${row.target}, met ${row.show?.met ?? (row.met ? 'yes' : 'NO')}${row.judgedOn ? ` (${row.judgedOn})` : ''}\n`);
  }
  process.stdout.write(`\n${method}\n`);
}

/** A count whose goal is 0 (edits lost, agents outside their worktree), out of `of` (a label). */
export function zeroGoalRow(row: { figure: string; unit: string; count: number; of: string; judgedOn: string; ratio?: string }): FigureRow {
  return {
    figure: row.figure,
    unit: row.unit,
    subject: [row.count],
    baseline: [],
    target: '0',
    met: row.count === 0,
    judgedOn: row.judgedOn,
    digits: 0,
    show: { subject: String(row.count), baseline: row.of, ratio: row.ratio ?? '-' },
  };
}

/** A throughput against the same run with nobody else at work: reported, no target. */
export function reportedRatioRow(row: { figure: string; unit: string; subject: number; baseline: number; digits: number }): FigureRow {
  return { figure: row.figure, unit: row.unit, subject: [row.subject], baseline: [row.baseline], target: 'none (reported)', met: true, digits: row.digits, show: { met: '-' } };
}
