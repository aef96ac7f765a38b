// What a claim says about its needs' branches (needs-branches.ts). Apart from it, and with type
// imports only, so that rendering a claim loads no git code.
import type { NeedBranch, NeedsStart } from './needs-branches.js';

/** Lines for the person or agent claiming: what the worktree starts with, and what it lacks. */
export function describeNeeds(id: string, needs: NeedsStart): string[] {
  const name = (need: NeedBranch): string => `${need.task} (${need.branch})`;
  const lines: string[] = [];
  if (needs.merged.length > 0) lines.push(`merged in: ${needs.merged.map(name).join(', ')}: the worktree starts from the main branch with the work of ${id}'s needs`);
  if (needs.conflicts.length > 0) {
    for (const c of needs.conflicts) lines.push(`does not merge cleanly: ${name(c)}${c.files.length ? ` (${c.files.join(', ')})` : ''}`);
    lines.push(`the worktree starts from the main branch alone, without its needs' work: merge their branches in it by hand (git merge <branch>) to build on it`);
  }
  if (needs.error) lines.push(`the needs' branches could not be merged (${needs.error}): the worktree starts from the main branch alone`);
  if (needs.missing.length > 0) lines.push(`the branch lacks work of ${id}'s needs, Done since it was made: ${needs.missing.map(name).join(', ')} (not merged in on a re-claim: \`git merge\` them in the worktree if the work needs them)`);
  return lines;
}
