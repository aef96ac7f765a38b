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
