import { listLocks, type LockView } from '../../tasks/queries.js';
import type { Context } from '../context.js';
import { table } from '../output.js';

export async function run(_args: unknown, ctx: Context): Promise<{ locks: LockView[] }> {
  return listLocks(ctx.guild());
}

export function render(result: { locks: LockView[] }): string {
  if (result.locks.length === 0) return 'no locks held';
  return table(
    result.locks.map((lock) => [
      lock.task,
      lock.agent ?? '?',
      lock.host ?? '?',
      lock.heartbeat ?? lock.reason ?? '',
      lock.stale ? `STALE: ${lock.reason}` : lock.damaged ? `DAMAGED: ${lock.reason}` : lock.state === 'unreadable' ? `unreadable: ${lock.reason}` : 'ok',
    ]),
  );
}
