// The last boards guild-fs read and wrote, kept in <git-common-dir>/guild/versions/ (never
// committed), so that a save made from a stale buffer can be told from an edit and merged.
//
// A person opens the board, agents claim and add, the person saves: the saved text is the old
// board plus their edit. Taken as it stands it would undo every claim and drop every task added
// meanwhile. With the versions kept, the base of that save is the kept version closest to it
// (the person's edit is small against it), the tools' side is the latest version, and the two
// merge three ways. Both the boards writes started from and the boards they wrote are kept: an
// editor's buffer is as often a board a person saved (which a tool then read) as one a tool
// wrote.
//
// Only writers holding the board mutex record versions, so the folder has one writer at a time;
// readers only look at `latest.json`, which is replaced atomically.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeLossless, encodeLossless } from './board-bytes.js';
import { contentKey } from './board-cache.js';
import type { BoardShape } from './steady-read.js';

/** How many versions are kept: enough for an editor left open across a busy minute of agents. */
export const KEPT_VERSIONS = 16;

export interface KeptVersion {
  key: string;
  /** When it was recorded (ms since the epoch): newest first in listings. */
  at: number;
  path: string;
}

interface Latest {
  key: string;
  shape: BoardShape;
}

const NAME = /^(\d{13,16})-(\d{4})-([0-9a-f]{40})\.md$/;

export class BoardVersions {
  constructor(readonly dir: string) {}

  /** Kept versions, newest first. */
  list(): KeptVersion[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const kept: (KeptVersion & { seq: number })[] = [];
    for (const name of names) {
      const match = NAME.exec(name);
      if (match) kept.push({ at: Number(match[1]), seq: Number(match[2]), key: match[3]!, path: join(this.dir, name) });
    }
    return kept.sort((a, b) => b.at - a.at || b.seq - a.seq);
  }

  read(version: KeptVersion): string | null {
    try {
      // Stored as the text's own bytes (escaped bytes back to themselves, line ends as in the
      // text): a Latin-1 byte in a version must not come back from a merge as U+FFFD.
      return decodeLossless(readFileSync(version.path));
    } catch {
      return null;
    }
  }

  /**
   * Records that a write started from `read` and left `written` (whose shape the steady reader
   * compares against). A version already kept is moved to the front rather than stored twice.
   */
  record(read: string | null, written: string, shape: BoardShape, now: number, keys: { read?: string; written?: string } = {}): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      const kept = this.list();
      // Never older than the newest kept: a fake clock in tests, or a clock set back, keeps the order.
      now = Math.max(now, (kept[0]?.at ?? 0) + 1);
      let seq = 0;
      // Keys the caller has already computed are not computed again (a hash of the whole board each).
      const texts = read !== null && read !== written ? [{ text: read, key: keys.read }, { text: written, key: keys.written }] : [{ text: written, key: keys.written }];
      for (const { text, key: known } of texts) {
        const key = known ?? contentKey(text);
        const name = `${String(now).padStart(13, '0')}-${String(seq++).padStart(4, '0')}-${key}.md`;
        const target = join(this.dir, name);
        const existing = kept.find((version) => version.key === key);
        if (existing) {
          renameSync(existing.path, target);
          kept.splice(kept.indexOf(existing), 1);
        } else {
          // No fsync: a version lost to a power cut only makes one merge base less exact.
          writeFileSync(`${target}.tmp`, encodeLossless(text));
          renameSync(`${target}.tmp`, target);
        }
      }
      for (const old of kept.slice(Math.max(0, KEPT_VERSIONS - seq))) rmSync(old.path, { force: true });
      const latest: Latest = { key: keys.written ?? contentKey(written), shape };
      writeFileSync(join(this.dir, 'latest.json.tmp'), JSON.stringify(latest));
      renameSync(join(this.dir, 'latest.json.tmp'), join(this.dir, 'latest.json'));
    } catch {
      // Versions are a help for merging stale saves, never a reason for a write to fail.
    }
  }

  /** The shape of the last board written, for the steady reader; null when none is known. */
  latestShape(): BoardShape | null {
    const latest = this.latest();
    return typeof latest?.shape?.length === 'number' ? latest.shape : null;
  }

  /** The content key of the last board written; null when none is known. */
  latestKey(): string | null {
    const key = this.latest()?.key;
    return typeof key === 'string' ? key : null;
  }

  private latest(): Latest | null {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'latest.json'), 'utf8')) as Latest;
    } catch {
      return null;
    }
  }
}

/**
 * The kept version a saved text most likely started from: the fewest lines added and removed
 * between them, the newer one on a tie. Line multisets, not a diff: cheap, and an editor's save
 * differs from its buffer's origin by the person's edit alone.
 */
export function closestVersion(text: string, versions: readonly { text: string }[]): number {
  const counts = new Map<string, number>();
  let total = 0;
  for (const line of text.split('\n')) {
    counts.set(line, (counts.get(line) ?? 0) + 1);
    total++;
  }
  let best = -1;
  let bestDistance = Infinity;
  versions.forEach((version, index) => {
    const used = new Map<string, number>();
    let common = 0;
    let lines = 0;
    for (const line of version.text.split('\n')) {
      lines++;
      const seen = used.get(line) ?? 0;
      if (seen < (counts.get(line) ?? 0)) common++;
      used.set(line, seen + 1);
    }
    const distance = total - common + (lines - common);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = index;
    }
  });
  return best;
}
