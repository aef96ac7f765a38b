// Who a commit guild-fs makes on its own is by, when git does not know. A container or CI runner
// often has no user.name or user.email; `sync --remote` (and the daemon's sync) must still commit
// the board and the log there. A configured identity is always used as it is: the fallback only
// fills the gap, as `-c` for that one command, never written to any config.
import { hostname } from 'node:os';
import { git } from './git.js';

/** `-c` options to put before a committing git command: none when git has an identity here. */
export async function commitIdentityConfig(cwd: string): Promise<string[]> {
  for (const variable of ['GIT_AUTHOR_IDENT', 'GIT_COMMITTER_IDENT']) {
    const { code } = await git(['var', variable], { cwd, readOnly: true, ok: [0, 128] });
    if (code !== 0) return ['-c', 'user.name=guild-fs', '-c', `user.email=guild-fs@${hostname() || 'localhost'}`];
  }
  return [];
}
