// Claim pushes whose answer never came. A push that timed out or lost its connection may still
// have landed: the server can update the ref and then fail to say so. The claim is given up here
// (exit 7, nothing claimed), but a ref of ours may stand on the remote, and every clone, this one
// too, would see the task claimed until heal judged the ref stale after lock_ttl.
//
// So the claim commit's id is noted, one file per task under
// <git-common-dir>/guild/remote/abandoned/<remote>/<ID>. The commit holds this claim's random
// token, so a ref at that id is certainly the abandoned claim and nobody else's: the next claim of
// the task here, and heal, remove it with a lease on that very id, and the listing does not count
// it as another clone's.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TASK_ID_PATTERN } from '../identifiers.js';
import { replaceFile } from './mkdir-lock.js';

const OID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

function folder(commonDir: string, remote: string): string {
  return join(commonDir, 'guild', 'remote', 'abandoned', remote);
}

export function noteAbandoned(commonDir: string, remote: string, task: string, oid: string): void {
  if (!TASK_ID_PATTERN.test(task) || !OID.test(oid)) return;
  try {
    mkdirSync(folder(commonDir, remote), { recursive: true });
    replaceFile(join(folder(commonDir, remote), task), `${oid}\n`);
  } catch {
    // Only a shortcut: without the note, heal still removes the ref once it is stale.
  }
}

/** The abandoned claim commit noted for the task, or null. */
export function abandonedClaim(commonDir: string, remote: string, task: string): string | null {
  if (!TASK_ID_PATTERN.test(task)) return null;
  try {
    const oid = readFileSync(join(folder(commonDir, remote), task), 'utf8').trim();
    return OID.test(oid) ? oid : null;
  } catch {
    return null;
  }
}

/** Every abandoned claim noted for the remote, by task. */
export function abandonedClaims(commonDir: string, remote: string): Map<string, string> {
  const found = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(folder(commonDir, remote));
  } catch {
    return found;
  }
  for (const task of names) {
    const oid = abandonedClaim(commonDir, remote, task);
    if (oid !== null) found.set(task, oid);
  }
  return found;
}

/** The note goes once its ref is gone, or is something else (then it was never ours to remove). */
export function forgetAbandoned(commonDir: string, remote: string, task: string): void {
  if (!TASK_ID_PATTERN.test(task)) return;
  rmSync(join(folder(commonDir, remote), task), { force: true });
}
