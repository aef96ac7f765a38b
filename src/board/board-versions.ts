// Every board guild-fs read and wrote for the last day, kept in <git-common-dir>/guild/versions/
// (never committed), so that a save made from a stale buffer can be told from an edit and merged
// against the very version the person started from.
//
// A person opens the board, agents claim, complete and add, the person saves: the saved text is
// the old board plus their edit. Taken as it stands it would undo every claim and completion and
// drop every task added meanwhile. With the versions kept, the base of that save is the version
// closest to it (the person's edit is small against the version they loaded; every other version
// also differs by the tools' changes since), the tools' side is the latest version, and the two
// merge three ways. Both the boards writes started from and the boards they wrote are kept: an
// editor's buffer is as often a board a person saved (which a tool then read) as one a tool wrote.
//
// How long: a person may keep a buffer open for a day, and a run writes the board several times a
// task, so a fixed number of versions is not enough (16 were: a 9-task run went past them, and the
// save was then merged against the wrong base and reopened five Done tasks). Versions are kept
// for KEEP_MS as chains (version-chain.ts): a whole board, then each next version as the hunks
// from the one before, which for a tool's write is a line or two. Finding the base reads a chain
// once, counting lines as it goes (DistanceScan): the cost is its board kept whole plus the
// hunks, not the number of versions times the board's size. Chains are read newest first, and
// an older chain only when its summary (each version's key and line count, kept beside it) says
// it may hold a closer version: a save made on top of the latest board, or one that is a kept
// version, reads the newest chain alone (or down to the one holding it).
//
// Only writers holding the board mutex record versions, so the folder has one writer at a time;
// readers only look at `latest.json`, which is replaced atomically.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { contentKey } from './board-cache.js';
import { diffLines } from './line-diff.js';
import type { BoardShape } from './steady-read.js';
import { DistanceScan, distanceFloor, patchLine, readChain, readSummary, snapshotLine, summarize, textAt, type ChainEntry, type ChainSummary } from './version-chain.js';

/** How long versions are kept: as long as a person may keep an editor open on the board. */
export const KEEP_MS = 24 * 60 * 60 * 1000;
/** Kept versions never take more than this much disk; the oldest chains go first. */
export const MAX_BYTES = 64 * 1024 * 1024;
/** A version that differs from the last in more lines than this is kept whole. */
const MAX_HUNK_LINES = 2_000;
/** A chain whose hunks outgrow its whole board (or 256 KiB) starts a new chain. */
const MIN_CHAIN_BYTES = 256 * 1024;

interface Latest {
  key: string;
  shape: BoardShape;
  /** The chain the latest version is the last entry of, and that chain's size after it. */
  chain?: string;
  size?: number;
  /** How long the chain's first, whole board is (in JSON). */
  snapshot?: number;
}

/** What a save is closest to among the kept versions. */
export interface BaseSearch {
  /** The version the save most likely started from. */
  base: string;
  /** The last version guild-fs wrote: the tools' side. */
  latest: string;
  /** The save is closest to the latest version: an edit of what the tools last wrote. */
  baseIsLatest: boolean;
  /**
   * The base found is the oldest version kept, and older ones were let go: the save may have
   * started from a board no longer kept, so the base is only a guess.
   */
  beyondKept: boolean;
  /** Lines added plus removed between the save and its base. */
  distance: number;
}

const CHAIN = /^chain-(\d{13})-([0-9a-f]{8})\.jsonl$/;
const OLD_VERSION = /^\d{13,16}-\d{4}-[0-9a-f]{40}\.md$/;
const PRUNED = 'pruned';
/** Beside each chain: its summary (keys and line counts), so a search can skip it unread. */
const SUMMARY = '.summary';

/** The closest version found so far; `entries` null when it is the text searched for itself, found by its key. */
interface Closest {
  distance: number;
  chain: number;
  index: number;
  entries: ChainEntry[] | null;
}

export class BoardVersions {
  /** The latest version's text, once this instance has had it in hand (a search, a record). */
  private latestText: { key: string; text: string } | null = null;

  constructor(readonly dir: string) {}

  /** The kept chains' file names, oldest first. */
  chains(): string[] {
    try {
      return readdirSync(this.dir).filter((name) => CHAIN.test(name)).sort();
    } catch {
      return [];
    }
  }

  /** Bytes the kept versions take on disk (with their summaries). */
  bytes(): number {
    let total = 0;
    for (const name of this.chains()) {
      for (const file of [name, `${name}${SUMMARY}`]) total += statSync(join(this.dir, file), { throwIfNoEntry: false })?.size ?? 0;
    }
    return total;
  }

  /**
   * The version `text` most likely started from, and the latest one; null when nothing is kept
   * (or what is kept is damaged: no version can be vouched for). `key`, when the caller has it,
   * is `text`'s content key (saves hashing the board again).
   */
  findBase(text: string, search: { key?: string } = {}): BaseSearch | null {
    const names = this.chains();
    let newest = names.length - 1;
    let entries: ChainEntry[] = [];
    for (; newest >= 0; newest--) {
      entries = readChain(join(this.dir, names[newest]!));
      if (entries.length > 0) break;
    }
    if (newest < 0) return null;
    const scan = new DistanceScan(text);
    // The chain holding the latest version is read whole: its text is the tools' side anyway.
    let closest: Closest | null = null;
    const lines = scan.scan(entries, (index, distance) => {
      // `<=`: of equally close versions the newest, which leaves the least to merge.
      if (closest === null || distance <= closest.distance) closest = { distance, chain: newest, index, entries };
    });
    const found = this.closestOlder({ names, newest, scan, text, key: search.key, closest: closest! });
    const latestKey = entries[entries.length - 1]!.key;
    const latest = lines.join('\n');
    const base = found.entries === null ? text : found.entries === entries && found.index === entries.length - 1 ? latest : textAt(found.entries, found.index);
    // Hunks applied in the wrong place would make a version no one wrote: each text is checked
    // (a base found by its key is the text searched for itself).
    if (contentKey(latest) !== latestKey || (found.entries !== null && contentKey(base) !== found.entries[found.index]!.key)) return null;
    this.latestText = { key: latestKey, text: latest };
    return {
      base,
      latest,
      baseIsLatest: base === latest,
      beyondKept: found.chain === 0 && found.index === 0 && this.pruned(),
      distance: found.distance,
    };
  }

  /**
   * The closest version, given the closest one of the newest chain: the same answer as scanning
   * every chain, the newest of the closest, without reading the older chains that cannot hold a
   * closer version. Newest first, and a chain is read only when its summary says it may beat the
   * closest so far: a version whose line count differs from the text's by `n` is at least `n`
   * away. A version that is the text itself (its key) is at distance 0, which nothing older can
   * beat and only a newer version of the same line count can tie, so the chains older than it
   * are never read and it is not replayed. (No bound from the distance to the latest version
   * helps: hunks can undo one another, so how far an old version is from the latest says
   * nothing about how far it is from the text without reading it.)
   */
  private closestOlder(search: { names: string[]; newest: number; scan: DistanceScan; text: string; key?: string; closest: Closest }): Closest {
    const { names, newest, scan } = search;
    let closest = search.closest;
    if (closest.distance === 0 || newest === 0) return closest;
    const summaries = names.slice(0, newest).map((name) => this.summaryOf(name));
    const key = search.key ?? contentKey(search.text);
    let exact: { chain: number; index: number } | null = null;
    for (let chain = newest - 1; chain >= 0 && exact === null; chain--) {
      const { summary } = summaries[chain]!;
      const index = summary.keys.lastIndexOf(key);
      if (index >= 0 && summary.lines[index] === scan.size) exact = { chain, index };
    }
    for (let chain = newest - 1; chain >= (exact?.chain ?? 0) && closest.distance > 0; chain--) {
      const { summary, entries } = summaries[chain]!;
      const mine = exact?.chain === chain;
      // With the text itself known to be kept, only another version at distance 0 counts.
      const worthReading = exact === null ? closest.distance - 1 : 0;
      if (distanceFloor(summary, scan.size, mine ? exact!.index + 1 : 0) > worthReading) {
        if (mine) closest = { distance: 0, chain, index: exact!.index, entries: null };
        continue;
      }
      const read = entries ?? readChain(join(this.dir, names[chain]!));
      let inChain: Closest | null = null;
      scan.scan(read, (index, distance) => {
        if (inChain === null || distance <= inChain.distance) inChain = { distance, chain, index, entries: read };
      });
      const found = inChain as Closest | null;
      if (found !== null && found.distance < closest.distance) closest = found;
    }
    return closest;
  }

  /** A chain's summary (version-chain.ts), rebuilt from the chain, and kept again, when it is missing, torn or stale. */
  private summaryOf(name: string): { summary: ChainSummary; entries?: ChainEntry[] } {
    const path = join(this.dir, name);
    const size = statSync(path, { throwIfNoEntry: false })?.size ?? -1;
    const kept = readSummary(`${path}${SUMMARY}`, size);
    if (kept !== null) return { summary: kept };
    const entries = readChain(path);
    const summary = summarize(entries, size);
    try {
      // Whole, then renamed in (a name of its own: another writer may be rebuilding it too).
      const temp = `${path}${SUMMARY}.${randomBytes(4).toString('hex')}.tmp`;
      writeFileSync(temp, JSON.stringify(summary));
      renameSync(temp, `${path}${SUMMARY}`);
    } catch {
      // Only a help: the next search rebuilds it again.
    }
    return { summary, entries };
  }

  /**
   * Records that a write started from `read` and left `written` (whose shape the steady reader
   * compares against). `keys` are content keys the caller has already computed.
   */
  record(read: string | null, written: string, shape: BoardShape, now: number, keys: { read?: string; written?: string } = {}): void {
    try {
      mkdirSync(this.dir, { recursive: true });
      let latest = this.latest();
      const texts = read !== null && read !== written ? [{ text: read, key: keys.read }, { text: written, key: keys.written }] : [{ text: written, key: keys.written }];
      for (const { text, key: known } of texts) {
        const key = known ?? contentKey(text);
        latest = this.append(latest, text, key, now);
        this.latestText = { key, text };
      }
      writeFileSync(join(this.dir, 'latest.json.tmp'), JSON.stringify({ ...latest!, shape }));
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

  /** Appends one version after `latest`: as hunks when the chain is sound and they are small, else whole in a new chain. */
  private append(latest: Latest | null, text: string, key: string, now: number): Latest {
    if (latest?.key === key && this.chainIntact(latest)) return latest;
    const chain = latest && this.chainIntact(latest) ? latest.chain! : null;
    const previous = chain ? this.previousText(latest!, chain) : null;
    const hunks = previous === null ? null : diffLines(previous.split('\n'), text.split('\n'), MAX_HUNK_LINES);
    if (chain && hunks && latest!.size! - latest!.snapshot! <= Math.max(MIN_CHAIN_BYTES, latest!.snapshot!)) {
      const line = patchLine(now, key, latest!.key, hunks);
      appendFileSync(join(this.dir, chain), line);
      return { ...latest!, key, size: latest!.size! + Buffer.byteLength(line) };
    }
    // Named by time, and never before the chain it follows (a clock set back keeps the order).
    const after = latest?.chain ? Number(CHAIN.exec(latest.chain)?.[1] ?? 0) + 1 : 0;
    const stamp = Math.min(Math.max(now, after), 9_999_999_999_999);
    const name = `chain-${String(stamp).padStart(13, '0')}-${randomBytes(4).toString('hex')}.jsonl`;
    const line = snapshotLine(now, key, text);
    // Whole, then renamed in: a chain never starts torn.
    writeFileSync(join(this.dir, `${name}.tmp`), line);
    renameSync(join(this.dir, `${name}.tmp`), join(this.dir, name));
    const size = Buffer.byteLength(line);
    this.prune(name, now);
    return { key, shape: latest?.shape ?? { length: 0, frontMatter: false, finalEol: false, tasks: 0 }, chain: name, size, snapshot: size };
  }

  /** The chain named as the latest is exactly as its last append left it (no crash between append and index, no torn line). */
  private chainIntact(latest: Latest): boolean {
    if (typeof latest.chain !== 'string' || !CHAIN.test(latest.chain) || typeof latest.size !== 'number' || typeof latest.snapshot !== 'number') return false;
    return statSync(join(this.dir, latest.chain), { throwIfNoEntry: false })?.size === latest.size;
  }

  private previousText(latest: Latest, chain: string): string | null {
    if (this.latestText?.key === latest.key) return this.latestText.text;
    const entries = readChain(join(this.dir, chain));
    if (entries.length === 0 || entries[entries.length - 1]!.key !== latest.key) return null;
    const text = textAt(entries);
    return contentKey(text) === latest.key ? text : null;
  }

  /** Lets go of chains older than a day, and of the oldest while all take more than MAX_BYTES; never the one just started. */
  private prune(current: string, now: number): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    // The fixed-count versions of earlier releases: replaced by the chains.
    for (const name of names) if (OLD_VERSION.test(name)) rmSync(join(this.dir, name), { force: true });
    // A summary whose chain is gone (let go below in an earlier prune, between its two removals).
    for (const name of names) if (name.endsWith(SUMMARY) && !names.includes(name.slice(0, -SUMMARY.length))) rmSync(join(this.dir, name), { force: true });
    const chains = names.filter((name) => CHAIN.test(name) && name !== current).sort();
    const sizes = chains.map((name) => statSync(join(this.dir, name), { throwIfNoEntry: false }));
    let total = sizes.reduce((sum, stat) => sum + (stat?.size ?? 0), 0);
    chains.forEach((name, i) => {
      const stat = sizes[i];
      if (stat && now - stat.mtimeMs <= KEEP_MS && total <= MAX_BYTES) return;
      rmSync(join(this.dir, name), { force: true });
      rmSync(join(this.dir, `${name}${SUMMARY}`), { force: true });
      total -= stat?.size ?? 0;
      writeFileSync(join(this.dir, PRUNED), '');
    });
  }

  /** Versions older than the oldest kept were let go at some point. */
  private pruned(): boolean {
    return statSync(join(this.dir, PRUNED), { throwIfNoEntry: false }) !== undefined;
  }

  private latest(): Latest | null {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'latest.json'), 'utf8')) as Latest;
    } catch {
      return null;
    }
  }
}
