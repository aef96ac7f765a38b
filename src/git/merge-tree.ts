// Predicting a merge without touching any checkout: `git merge-tree --write-tree` (git >= 2.38)
// merges two commits in memory, writes only objects, and exits 1 when the merge would conflict.
import { git } from './git.js';

export interface MergePrediction {
  clean: boolean;
  /** Files that would conflict (content, add/add, modify/delete, rename...). */
  files: string[];
}

export async function predictMerge(cwd: string, ours: string, theirs: string): Promise<MergePrediction> {
  const { code, stdout } = await git(['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ours, theirs], { cwd, readOnly: true, ok: [0, 1] });
  if (code === 0) return { clean: true, files: [] };
  // -z: the tree id, then each conflicted file, NUL-terminated; an empty field ends the list.
  const fields = stdout.split('\0');
  const files: string[] = [];
  for (const field of fields.slice(1)) {
    if (field === '') break;
    if (!files.includes(field)) files.push(field);
  }
  return { clean: false, files };
}
