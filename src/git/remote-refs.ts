// Moving one ref on the remote with a lease, and listing refs there: the two things claims
// through a git remote ask of git (SPEC section 7). The server's ref update is atomic and checks
// the old value the client sends, so of any number of clones pushing a ref "expected absent"
// exactly one creates it; a lease on a value makes a move or a delete lose to any change made
// since that value was seen.
//
// The push runs synchronously: it is a step of TaskLocks.acquire/release, which callers (claim's
// transaction among them) expect to be one atomic-looking call. Its cost is the push itself.
import { spawnSync } from 'node:child_process';
import { parseDuration } from '../duration.js';
import { cleanEnv, git, timedOutReason, UNATTENDED_GIT } from './git.js';

export type RefPush =
  | { outcome: 'ok' }
  /** The lease did not hold (someone else made, moved or removed the ref), or the server refused. */
  | { outcome: 'rejected'; reason: string }
  /** The remote could not be reached (no server, no network, no such repository): nothing changed there. */
  | { outcome: 'unreachable'; reason: string };

/**
 * How long a push, fetch or listing may take before the remote is judged unreachable: 60 s, or
 * GUILD_REMOTE_TIMEOUT (a duration: 90s, 5m) for a slow link, or a test's silent server.
 */
export function remoteTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.GUILD_REMOTE_TIMEOUT === undefined ? null : parseDuration(env.GUILD_REMOTE_TIMEOUT);
  return given !== null && given > 0 ? given : 60_000;
}

/**
 * Sets `ref` on `remote` to `to` (an object id, or null to delete it), only if it is `expect`
 * there now (an object id, or null: it must not exist). `remote` and `ref` are validated by the
 * caller: they reach git's argv.
 */
export function pushRef(cwd: string, remote: string, ref: string, to: string | null, expect: string | null, timeoutMs = remoteTimeoutMs()): RefPush {
  const args = ['push', '--porcelain', '--no-progress', `--force-with-lease=${ref}:${expect ?? ''}`, remote, `${to ?? ''}:${ref}`];
  const run = spawnSync('git', args, { cwd, env: cleanEnv(UNATTENDED_GIT), encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.error) {
    const timedOut = (run.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
    return { outcome: 'unreachable', reason: timedOut ? timedOutReason(timeoutMs) : run.error.message };
  }
  return judgePush(run.stdout, run.stderr, ref);
}

/** Reads `git push --porcelain`'s answer for one ref. */
export function judgePush(stdout: string, stderr: string, ref: string): RefPush {
  // Porcelain: "<flag>\t<from>:<to>\t<summary>" per ref; "!" is a rejection, anything else is done.
  const line = stdout.split('\n').find((text) => text.includes(`:${ref}\t`));
  if (line !== undefined) {
    if (!line.startsWith('!')) return { outcome: 'ok' };
    return { outcome: 'rejected', reason: line.split('\t')[2] ?? 'rejected' };
  }
  // No line for the ref: git never got as far as talking about it (no connection, no repository).
  return { outcome: 'unreachable', reason: gitReason(stderr) };
}

/** git's own reason: its fatal:/error: lines, hints left out. */
export function gitReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const fatal = lines.filter((line) => /^(fatal|error|ssh):/.test(line)).map((line) => line.replace(/^(fatal|error): /, ''));
  return (fatal.length > 0 ? fatal : lines.slice(-1)).join('; ') || 'git gave no reason';
}

export type RefListing = { outcome: 'ok'; refs: Map<string, string> } | { outcome: 'unreachable'; reason: string };

/** The refs under `prefix` (like refs/guild/claims/) on `remote`, by name: one round trip. */
export async function listRemoteRefs(cwd: string, remote: string, prefix: string): Promise<RefListing> {
  let result;
  try {
    result = await git(['ls-remote', '--refs', remote, `${prefix}*`], { cwd, readOnly: true, retries: 0, ok: [0, 2, 128], timeoutMs: remoteTimeoutMs() });
  } catch (error) {
    return { outcome: 'unreachable', reason: (error as Error).message };
  }
  if (result.code !== 0 && result.code !== 2) return { outcome: 'unreachable', reason: gitReason(result.stderr) };
  const refs = new Map<string, string>();
  for (const line of result.stdout.split('\n')) {
    const [oid, name] = line.split('\t');
    if (oid && name?.startsWith(prefix)) refs.set(name, oid);
  }
  return { outcome: 'ok', refs };
}
