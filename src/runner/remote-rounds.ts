// `guild-fs run` on a board with `remote:` (issue 13 item 6): runners in several clones drain one
// board. Claims are already exclusive across clones (RemoteTaskLocks: a create-only ref, and a
// done marker once finished), so no task is done twice; what each runner also needs is the other
// clones' progress, or a task whose needs were finished elsewhere would stay Blocked here and a
// runner would leave while work is still on its way. So the board travels: before each claim and
// after each finish the runner syncs through the remote (one sync at a time, and a worker that
// arrives while one runs waits for it rather than starting another), and a runner with nothing to
// claim stays while other clones still hold claims, since their outcomes may unblock more work.
import type { Guild } from '../tasks/guild.js';
import { syncRemote } from '../remote/sync-remote.js';
import { seeElsewhere } from '../remote/use-remote.js';

export interface RemoteRounds {
  /** Syncs (or waits for the sync under way) and refreshes what other clones hold. */
  refresh(): Promise<void>;
  /** True when, at the last refresh, another clone held a claim: its outcome may unblock work. */
  othersWorking(): boolean;
}

export function remoteRounds(guild: Guild, remote: string, actor: string, say: (message: string) => void): RemoteRounds {
  let running: Promise<void> | null = null;
  let again = false;
  let others = false;
  const round = async (): Promise<void> => {
    try {
      await syncRemote(guild, actor, { claims: null });
    } catch (error) {
      // Said, and the runner goes on: a claim that needs the remote says exit 7 on its own.
      say(`sync --remote failed: ${(error as Error).message}`);
    }
    try {
      const claims = await seeElsewhere(guild, remote);
      others = claims.claims.some((claim) => claim.state === 'claimed');
    } catch (error) {
      say(`could not list ${remote}'s claims: ${(error as Error).message}`);
      others = false;
    }
  };
  const refresh = (): Promise<void> => {
    if (running) {
      // A sync under way may have started before what this worker needs to see: one more after it.
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await round();
      } while (again);
    })().finally(() => (running = null));
    return running;
  };
  return { refresh, othersWorking: () => others };
}
