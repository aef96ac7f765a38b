import { CheckFailedError } from '../../errors.js';
import { findConflicts, type ConflictReport } from '../../workspace/find-conflicts.js';
import type { Context } from '../context.js';

export async function run(_args: unknown, ctx: Context): Promise<ConflictReport> {
  return findConflicts(ctx.guild());
}

/** Exit 6 when any merge would conflict; the report is printed either way. */
export function failure(result: ConflictReport): CheckFailedError | undefined {
  if (result.conflicts.length === 0) return undefined;
  const n = result.conflicts.length;
  return new CheckFailedError(`${n} predicted merge conflict${n === 1 ? '' : 's'}`, { conflicts: result.conflicts });
}

export function render(result: ConflictReport): string {
  const done = result.branches.filter((branch) => branch.status === 'done').length;
  const lines = [`${result.branches.length} active branch(es)${done > 0 ? ` (${done} of them Done, not merged yet)` : ''}, ${result.pairs} merge(s) predicted against each other and ${result.main}`];
  if (result.conflicts.length === 0) lines.push('no conflicts');
  for (const c of result.conflicts) {
    lines.push(`CONFLICT ${c.a} <-> ${c.b}`);
    for (const file of c.files) lines.push(`  ${file}`);
  }
  return lines.join('\n');
}
