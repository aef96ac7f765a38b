import { GuildError, ExitCode } from '../../errors.js';
import type { MergeKind } from '../../git/merge-drivers.js';
import { runMergeDriver, type MergeDriverRun } from '../../merge/merge-driver.js';
import type { Context } from '../context.js';

interface Args {
  kind: MergeKind;
  base: string;
  ours: string;
  theirs: string;
  path?: string;
}

export async function run(args: Args, ctx: Context): Promise<MergeDriverRun> {
  const result = await runMergeDriver(args.kind, { base: args.base, ours: args.ours, theirs: args.theirs, path: args.path }, ctx.cwd);
  // git shows a driver's stderr to the person merging: say what was decided for them.
  ctx.notes.push(...result.notes);
  return result;
}

export function render(): string {
  return '';
}

/** Conflicts left marked: git then stops the merge for the person to resolve them. */
export function failure(result: MergeDriverRun): GuildError | undefined {
  if (result.conflicts === 0) return undefined;
  return new GuildError('ECONFLICT', ExitCode.checkFailed, `${result.path}: ${result.conflicts} conflict${result.conflicts === 1 ? '' : 's'} left marked; resolve, then \`guild-fs doctor\``, { conflicts: result.conflicts });
}
