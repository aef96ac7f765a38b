// Branch names and worktree paths are built only from a validated task ID and a slug of the
// title reduced to [a-z0-9-]: whatever a title holds (quotes, `$()`, `;`, spaces, Unicode), the
// name git gets is plain, bounded and never empty.
import { TASK_ID_PATTERN, isTaskId } from '../identifiers.js';

export const BRANCH_PREFIX = 'guild/';
const SLUG_MAX = 40;

/** "Add the login form!" -> "add-the-login-form"; "日本語" -> "task". */
export function slugOf(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // accents come off: é -> e
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX)
    .replace(/-+$/, '');
  return slug === '' ? 'task' : slug;
}

/** guild/<ID>-<slug>. Throws on an ID that does not validate: it is the one input not slugged. */
export function branchFor(id: string, title: string): string {
  if (!isTaskId(id)) throw new Error(`not a task ID: ${JSON.stringify(id)}`);
  return `${BRANCH_PREFIX}${id}-${slugOf(title)}`;
}

/** The task a guild branch belongs to: guild/GLD-4-users-table -> GLD-4; null for any other branch. */
export function taskOfBranch(branch: string): string | null {
  const name = branch.startsWith('refs/heads/') ? branch.slice('refs/heads/'.length) : branch;
  if (!name.startsWith(BRANCH_PREFIX)) return null;
  // The slug is lower case, so a hash ID's capitals (guild/GLD-K3F9-users-table) end where it begins.
  const match = /^([A-Z][A-Z0-9]{0,15}-(?:[1-9][0-9]{0,8}|[A-Z][A-Z0-9]{3,11}))(?:-[a-z0-9-]*)?$/.exec(name.slice(BRANCH_PREFIX.length));
  return match && TASK_ID_PATTERN.test(match[1]!) ? match[1]! : null;
}
