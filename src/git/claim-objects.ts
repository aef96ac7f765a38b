// The small commits that stand for claims on the remote (SPEC section 7): a tree with one file,
// claim.json. They are written here as loose objects, as git itself writes them (zlib-deflated
// "<type> <size>\0<body>", named by its hash), rather than by three git processes
// (hash-object, mktree, commit-tree): a claim through a remote costs one git process, its push.
//
// A task's "done" marker is a commit of the same shape with fixed contents and a fixed date, so
// that every clone computes the same object id for it without asking anyone: `ls-remote` alone
// then tells a claimed task from a finished one.
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

export type ObjectFormat = 'sha1' | 'sha256';

/** What a claim ref's claim.json holds. */
export interface ClaimRecord {
  v: 1;
  task: string;
  state: 'claimed' | 'done';
  agent?: string;
  host?: string;
  /** This clone's own random id (<git-common-dir>/guild/clone-id): two clones on one host are two claimers. */
  clone?: string;
  acquired?: string;
  heartbeat?: string;
  token?: string;
  /** The id of the task.claimed event this claim is recorded by. */
  claimEvent?: string | null;
}

/** The repository's object format: sha1, or sha256 where `extensions.objectFormat` says so. */
export function objectFormat(commonDir: string): ObjectFormat {
  let config = '';
  try {
    config = readFileSync(join(commonDir, 'config'), 'utf8');
  } catch {
    // No config readable: git would fail on its own; sha1 is every other repository's format.
  }
  return /^\s*objectformat\s*=\s*sha256\s*$/im.test(config) ? 'sha256' : 'sha1';
}

interface GitObject {
  oid: string;
  raw: Buffer;
}

function hashObject(format: ObjectFormat, type: 'blob' | 'tree' | 'commit', body: Buffer): GitObject {
  const raw = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
  return { oid: createHash(format).update(raw).digest('hex'), raw };
}

function claimObjects(format: ObjectFormat, record: ClaimRecord, seconds: number, message: string): GitObject[] {
  const blob = hashObject(format, 'blob', Buffer.from(`${JSON.stringify(record)}\n`));
  const tree = hashObject(format, 'tree', Buffer.concat([Buffer.from('100644 claim.json\0'), Buffer.from(blob.oid, 'hex')]));
  const who = `guild-fs <guild-fs@invalid> ${seconds} +0000`;
  const commit = hashObject(format, 'commit', Buffer.from(`tree ${tree.oid}\nauthor ${who}\ncommitter ${who}\n\n${message}\n`));
  return [blob, tree, commit];
}

/** Writes each object unless it is there; returns the last one's id. */
function writeObjects(commonDir: string, objects: GitObject[]): string {
  for (const object of objects) {
    const dir = join(commonDir, 'objects', object.oid.slice(0, 2));
    const path = join(dir, object.oid.slice(2));
    mkdirSync(dir, { recursive: true });
    const temp = join(dir, `tmp_guild_${randomBytes(6).toString('hex')}`);
    writeFileSync(temp, deflateSync(object.raw), { mode: 0o444 });
    try {
      // link, not rename: an object already there (same id, same bytes) is left as it is.
      linkSync(temp, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temp);
    }
  }
  return objects.at(-1)!.oid;
}

/** Writes the commit that stands for this claim; returns its id. */
export function writeClaimCommit(commonDir: string, record: ClaimRecord, now: number): string {
  const message = `guild: ${record.task} claimed by ${record.agent ?? 'someone'}`;
  return writeObjects(commonDir, claimObjects(objectFormat(commonDir), record, Math.floor(now / 1000), message));
}

/** The id of the task's done marker, computed, not written. The same in every clone of one object format. */
export function doneMarkerId(format: ObjectFormat, task: string): string {
  return claimObjects(format, { v: 1, task, state: 'done' }, 0, `guild: ${task} done`).at(-1)!.oid;
}

/** Writes the task's done marker (to push it); returns its id. */
export function writeDoneMarker(commonDir: string, task: string): string {
  return writeObjects(commonDir, claimObjects(objectFormat(commonDir), { v: 1, task, state: 'done' }, 0, `guild: ${task} done`));
}
