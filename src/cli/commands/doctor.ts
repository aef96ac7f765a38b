import { CheckFailedError } from '../../errors.js';
import { doctor, HEAL_FIX, type DoctorResult } from '../../health/doctor.js';
import type { Context } from '../context.js';

export async function run(_args: unknown, ctx: Context): Promise<DoctorResult> {
  return doctor(ctx.guild());
}

/** Exit 6, naming each problem, when anything is wrong; the report is printed either way. */
export function failure(result: DoctorResult): CheckFailedError | undefined {
  if (result.ok) return undefined;
  const count = result.checks.reduce((sum, check) => sum + check.problems.length, 0);
  // Each fix once, in the order of the checks: heal is named only when a lock problem was found.
  const fixes = [...new Set(result.checks.filter((check) => !check.ok && check.fix).map((check) => (check.fix === HEAL_FIX ? check.fix : `${check.name}: ${check.fix}`)))];
  return new CheckFailedError(`doctor found ${count} problem${count === 1 ? '' : 's'}; ${fixes.join('; ')}`, { checks: result.checks });
}

export function render(result: DoctorResult): string {
  const lines: string[] = [];
  for (const check of result.checks) {
    lines.push(check.missing ? `none  ${check.name}: ${check.missing}` : `${check.ok ? 'ok  ' : 'FAIL'}  ${check.name}`);
    for (const problem of check.problems) lines.push(`      ${problem.message}`);
    for (const warning of check.warnings) lines.push(`      warning: ${warning}`);
    for (const info of check.info ?? []) lines.push(`      ${info}`);
  }
  return lines.join('\n');
}
