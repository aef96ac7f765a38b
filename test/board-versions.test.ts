// The kept board versions (board/board-versions.ts, version-chain.ts, line-diff.ts): a day of
// them as patch chains, the exact base of a stale save found however many writes ago, damaged
// chains never trusted, old chains let go, and a save older than every kept version placed
// nowhere (the tools' board kept, the save kept whole, doctor saying so).
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BoardVersions, KEEP_MS } from '../src/board/board-versions.js';
import { contentKey } from '../src/board/board-cache.js';
import { applyHunks, diffLines } from '../src/board/line-diff.js';
import { lineDistance, readChain, textAt } from '../src/board/version-chain.js';
import { mulberry32 } from './helpers/board-mutator.js';
import { shapeOf } from '../src/board/steady-read.js';
import { cli } from './helpers/cli.js';
import { boardWith, committedRepo } from './helpers/git-repo.js';
import { tasksOnBoard } from './helpers/storm-check.js';
import { insertNote, saveBoard } from './helpers/storm-person.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'guild-fs-versions-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function seeded(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
}

/** A small board whose task `i` moves to Done at version `i`, with a free-text line now and then. */
function boardAt(version: number): string {
  const lines = ['---', 'guild: 1', 'prefix: GLD', '---', '# Active Tasks', '', '## Ready'];
  const done: string[] = [];
  for (let i = 0; i < 40; i++) (i < version % 40 ? done : lines).push(`- [${i < version % 40 ? 'x' : ' '}] GLD-${i + 1} task ${i + 1}${version >= 40 && i === version % 40 ? ` owner:round-${Math.floor(version / 40)}` : ''}`);
  return [...lines, '', '## Done', ...done, '', `Round ${Math.floor(version / 40)}.`, ''].join('\n');
}

describe('line diff', () => {
  test('hunks turn the old lines into the new, with no more edits than were made (20,000 seeded cases)', () => {
    const random = seeded(20261207);
    for (let t = 0; t < 20_000; t++) {
      const a = Array.from({ length: random(30) }, () => String(random(6)));
      const b = a.slice();
      const edits = random(6);
      for (let e = 0; e < edits; e++) {
        const at = random(b.length + 1);
        const op = random(3);
        if (op === 0) b.splice(at, 0, String(random(6)));
        else if (op === 1) b.splice(at, 1);
        else b[at] = String(random(6));
      }
      const hunks = diffLines(a, b, 1000);
      assert.ok(hunks, `case ${t}`);
      const c = a.slice();
      applyHunks(c, hunks);
      assert.deepEqual(c, b, `case ${t}: ${JSON.stringify({ a, b, hunks })}`);
      assert.ok(hunks.reduce((sum, [, remove, insert]) => sum + remove + insert.length, 0) <= 2 * edits, `case ${t}: not minimal`);
    }
  });

  test('past a few edits, lines found once on each side anchor the diff: valid, near the fewest edits (200 seeded boards)', () => {
    const random = seeded(20261208);
    for (let t = 0; t < 200; t++) {
      // A board's shape: task lines (unique), blank lines and headings between them (repeated).
      let fresh = 0;
      const line = (): string => (random(10) === 0 ? '' : random(40) === 0 ? '## Ready' : `- [ ] GLD-${++fresh} task ${fresh}`);
      const a = Array.from({ length: 200 + random(800) }, line);
      const b = a.slice();
      const edits = 65 + random(300);
      for (let e = 0; e < edits; e++) {
        const at = random(b.length + 1);
        const op = random(3);
        if (op === 0) b.splice(at, 0, line());
        else if (op === 1) b.splice(at, 1);
        else b[at] = line();
      }
      const hunks = diffLines(a, b, 5000);
      assert.ok(hunks, `case ${t}`);
      const c = a.slice();
      applyHunks(c, hunks);
      assert.deepEqual(c, b, `case ${t}`);
      const lines = hunks.reduce((sum, [, remove, insert]) => sum + remove + insert.length, 0);
      assert.ok(lines <= 2 * edits, `case ${t}: ${lines} lines for ${edits} edits`);
      assert.equal(diffLines(a, b, Math.floor(lines / 4)), null, `case ${t}: a budget of a quarter is refused`);
    }
  });

  test('gives up past the edit limit', () => {
    assert.equal(diffLines(['a', 'b', 'c'], ['x', 'y', 'z'], 2), null);
    assert.deepEqual(diffLines(['a'], ['a'], 0), []);
  });
});

describe('kept versions', () => {
  test('the exact base of a save is found after 1,000 writes, whichever version it started from', (t) => {
    const versions = new BoardVersions(tempDir(t));
    const texts: string[] = [];
    for (let v = 0; v < 1_000; v++) {
      texts.push(boardAt(v));
      versions.record(v === 0 ? null : texts[v - 1]!, texts[v]!, shapeOf(texts[v]!, 40), 1_000 + v);
    }
    for (const v of [0, 1, 17, 39, 40, 41, 500, 998, 999]) {
      const found = versions.findBase(insertNote(texts[v]!, 'a person typed this').text);
      assert.ok(found, `version ${v}`);
      assert.equal(found.base, texts[v], `version ${v}: the base found is the version the buffer was loaded from`);
      assert.equal(found.latest, texts[999]);
      assert.equal(found.baseIsLatest, v === 999);
      assert.equal(found.beyondKept, false);
    }
    // A day of a busy board is kept in far less than a copy per version.
    const bytes = versions.bytes();
    assert.ok(bytes < 1_000 * Buffer.byteLength(texts[999]!) / 4, `${bytes} bytes kept`);
  });

  test('a torn chain ends at its last whole entry, and the next record starts a new chain', (t) => {
    const dir = tempDir(t);
    const versions = new BoardVersions(dir);
    for (let v = 0; v < 10; v++) versions.record(null, boardAt(v), shapeOf(boardAt(v), 40), 1_000 + v);
    const [chain] = versions.chains();
    appendFileSync(join(dir, chain!), '{"at":1,"key":"torn');
    versions.record(null, boardAt(10), shapeOf(boardAt(10), 40), 2_000);
    assert.equal(versions.chains().length, 2);
    assert.equal(versions.findBase(boardAt(3))?.base, boardAt(3));
    assert.equal(versions.findBase(boardAt(3))?.latest, boardAt(10));
  });

  test('hunks that no longer apply to their version are never trusted', (t) => {
    const dir = tempDir(t);
    const versions = new BoardVersions(dir);
    for (let v = 0; v < 5; v++) versions.record(null, boardAt(v), shapeOf(boardAt(v), 40), 1_000 + v);
    const path = join(dir, versions.chains()[0]!);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[2] = lines[2]!.replace(/\[\[(\d+),/, (_, at: string) => `[[${Number(at) + 3},`);
    writeFileSync(path, lines.join('\n'));
    assert.equal(versions.findBase(boardAt(1)), null);
  });

  test('the fixed-count versions of earlier releases are removed when the first chain starts', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, `${'1'.repeat(13)}-0000-${'a'.repeat(40)}.md`), 'old');
    new BoardVersions(dir).record(null, boardAt(0), shapeOf(boardAt(0), 40), 1_000);
    assert.deepEqual(readdirSync(dir).filter((name) => name.endsWith('.md')), []);
  });

  test('chains older than a day are let go; a save from before them is beyond what is kept', (t) => {
    const dir = tempDir(t);
    const versions = new BoardVersions(dir);
    const now = Date.now();
    versions.record(null, boardAt(0), shapeOf(boardAt(0), 40), now - KEEP_MS - 60_000);
    versions.record(boardAt(0), boardAt(1), shapeOf(boardAt(1), 40), now - KEEP_MS - 50_000);
    const old = join(dir, versions.chains()[0]!);
    const dayAgo = (now - KEEP_MS - 50_000) / 1000;
    utimesSync(old, dayAgo, dayAgo);
    // A change too big for hunks starts a new chain, which lets the old one go.
    const rewritten = `${boardAt(2)}${Array.from({ length: 2_500 }, (_, i) => `free text ${i}`).join('\n')}\n`;
    versions.record(boardAt(1), rewritten, shapeOf(rewritten, 40), now);
    versions.record(rewritten, `${rewritten}one more\n`, shapeOf(rewritten, 40), now + 1);
    assert.equal(versions.chains().length, 1);
    const found = versions.findBase(insertNote(boardAt(0), 'typed a day ago').text);
    assert.ok(found);
    assert.equal(found.beyondKept, true);
  });
});

/** What findBase answered before it skipped chains: every version of every chain, the newest of the closest. */
function fullScan(dir: string, versions: BoardVersions, text: string): { base: string; latest: string; distance: number } | null {
  let best: { distance: number; text: string } | null = null;
  let latest: string | null = null;
  for (const name of versions.chains()) {
    const entries = readChain(join(dir, name));
    entries.forEach((_, i) => {
      const version = textAt(entries, i);
      const distance = lineDistance(text, version);
      if (best === null || distance <= best.distance) best = { distance, text: version };
      latest = version;
    });
  }
  const found = best as { distance: number; text: string } | null;
  return found === null ? null : { base: found.text, latest: latest!, distance: found.distance };
}

describe('finding the base without reading every chain', () => {
  test('answers as a scan of every version does, on seeded random histories of many chains', (t) => {
    const seed = Number(process.env.GUILD_SEED ?? 20261207);
    console.log(`seed ${seed} (GUILD_SEED=... to repeat another)`);
    const random = mulberry32(seed);
    const pick = (n: number): number => Math.floor(random() * n);
    let skipped = 0;
    for (let history = 0; history < 12; history++) {
      const dir = tempDir(t);
      const versions = new BoardVersions(dir);
      // Few distinct lines: versions that are permutations of one another, and reverts to an
      // earlier version (the same key twice), both happen.
      let lines = Array.from({ length: 5 + pick(20) }, () => `line ${pick(12)}`);
      const texts: string[] = [];
      for (let v = 0; v < 40 + pick(80); v++) {
        const next = v > 0 && pick(10) === 0 ? texts[pick(texts.length)]!.split('\n') : lines.slice();
        const op = pick(4);
        const at = pick(next.length + 1);
        if (op === 0) next.splice(at, 0, `line ${pick(12)}`);
        else if (op === 1 && next.length > 1) next.splice(Math.min(at, next.length - 1), 1);
        else if (op === 2 && next.length > 1) next.push(...next.splice(pick(next.length), 1));
        else next[Math.min(at, next.length - 1)] = `line ${pick(12)}`;
        const text = next.join('\n');
        // A lost index (as after a crash): the next version starts a chain of its own.
        if (pick(8) === 0) rmSync(join(dir, 'latest.json'), { force: true });
        versions.record(texts[texts.length - 1] ?? null, text, shapeOf(text, 0), 1_000 + v);
        texts.push(text);
        lines = next;
      }
      const chains = versions.chains().length;
      for (let q = 0; q < 30; q++) {
        const from = texts[pick(texts.length)]!.split('\n');
        const kind = pick(4);
        if (kind === 1) from.splice(pick(from.length + 1), 0, 'a person typed this');
        else if (kind === 2) from.reverse();
        else if (kind === 3) from[pick(from.length)] = `line ${pick(12)}`;
        const text = from.join('\n');
        // Now and then a summary torn, emptied or left from another chain: rebuilt, never trusted.
        const summaries = readdirSync(dir).filter((name) => name.endsWith('.summary'));
        if (summaries.length > 0 && pick(5) === 0) {
          const victim = join(dir, summaries[pick(summaries.length)]!);
          const damage = pick(3);
          if (damage === 0) writeFileSync(victim, readFileSync(victim, 'utf8').slice(0, -5));
          else if (damage === 1) writeFileSync(victim, '');
          else writeFileSync(victim, readFileSync(join(dir, summaries[pick(summaries.length)]!), 'utf8'));
        }
        const expected = fullScan(dir, versions, text);
        const found = new BoardVersions(dir).findBase(text, pick(2) === 0 ? { key: contentKey(text) } : {});
        const where = `seed ${seed}, history ${history} (${chains} chains), query ${q}`;
        assert.ok(expected && found, where);
        assert.equal(found.distance, expected.distance, where);
        assert.equal(found.base, expected.base, where);
        assert.equal(found.latest, expected.latest, where);
        if (chains > 1) skipped++;
      }
    }
    assert.ok(skipped > 0, 'some histories had more than one chain');
  });

  test('a save that is a kept version is found by its key: its chain is not replayed, the chains older than it not read', (t) => {
    const dir = tempDir(t);
    const versions = new BoardVersions(dir);
    // A line more at each version: no later version can tie with the one searched for.
    const at = (v: number): string => `${boardAt(v)}${'free text\n'.repeat(v)}`;
    for (let v = 0; v < 30; v++) {
      if (v % 10 === 0) rmSync(join(dir, 'latest.json'), { force: true });
      versions.record(null, at(v), shapeOf(at(v), 40), 1_000 + v);
    }
    const chains = versions.chains();
    assert.equal(chains.length, 3);
    // A first search makes the summaries.
    assert.equal(versions.findBase(`${at(15)}\nnote`)?.base, at(15));
    assert.ok(readdirSync(dir).filter((name) => name.endsWith('.summary')).length >= 1);
    // Then the two older chains are damaged without changing their size: replayed, the middle
    // one would no longer give version 15, read, the oldest would give nothing.
    const middle = join(dir, chains[1]!);
    writeFileSync(middle, readFileSync(middle, 'utf8').replace(/"hunks":\[\[(\d)/g, (_, d: string) => `"hunks":[[${(Number(d) + 1) % 10}`));
    const oldest = join(dir, chains[0]!);
    writeFileSync(oldest, readFileSync(oldest, 'utf8').replace(/"key"/g, '"kez"'));
    const found = new BoardVersions(dir).findBase(at(15));
    assert.equal(found?.base, at(15));
    assert.equal(found?.distance, 0);
    assert.equal(found?.latest, at(29));
    // A summary that does not describe its chain as it is now is rebuilt from the chain.
    writeFileSync(`${middle}.summary`, '{"size":1,"keys":[],"lines":[]}');
    assert.equal(new BoardVersions(dir).findBase(at(15))?.base, at(15));
    const rebuilt = JSON.parse(readFileSync(`${middle}.summary`, 'utf8')) as { size: number; keys: string[] };
    assert.equal(rebuilt.size, readFileSync(middle).length);
    assert.equal(rebuilt.keys.length, 10);
  });
});

describe('a save older than every kept version', () => {
  test('keeps every tool change, keeps the save whole aside, and says so (stderr, doctor)', async (t) => {
    const repo = committedRepo(boardWith([], ['- [ ] GLD-1 first', '- [ ] GLD-2 second', '- [ ] GLD-3 third']));
    t.after(() => repo.remove());
    const stale = readFileSync(join(repo.dir, 'ACTIVE_TASKS.md'), 'utf8');
    for (const id of ['GLD-1', 'GLD-2']) assert.equal(cli(['claim', id, '--no-worktree'], { cwd: repo.dir, agent: 'a1' }).code, 0);
    // As if a day had passed: the versions the buffer was loaded from are gone.
    const dir = join(repo.dir, '.git', 'guild', 'versions');
    for (const name of readdirSync(dir)) rmSync(join(dir, name));
    writeFileSync(join(dir, 'pruned'), '');
    assert.equal(cli(['claim', 'GLD-3', '--no-worktree'], { cwd: repo.dir, agent: 'a1' }).code, 0);

    await saveBoard(join(repo.dir, 'ACTIVE_TASKS.md'), insertNote(stale, 'typed long ago').text, 'rename');
    const sync = cli(['sync'], { cwd: repo.dir });
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stderr, /older than every version guild-fs keeps/);
    const tasks = tasksOnBoard(readFileSync(join(repo.dir, 'ACTIVE_TASKS.md'), 'utf8'));
    assert.deepEqual(tasks.map((task) => `${task.id} ${task.section}`), ['GLD-1 In Progress', 'GLD-2 In Progress', 'GLD-3 In Progress']);
    const unplaced = readdirSync(join(repo.dir, '.git', 'guild', 'unplaced'));
    assert.equal(unplaced.length, 1);
    assert.match(readFileSync(join(repo.dir, '.git', 'guild', 'unplaced', unplaced[0]!), 'utf8'), /typed long ago/);
    const doctor = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.equal(doctor.code, 0, doctor.stdout);
    const board = doctor.json!.result.checks.find((check: { name: string }) => check.name === 'board');
    assert.ok(board.warnings.some((warning: string) => warning.includes(unplaced[0]!)), JSON.stringify(board.warnings));
    assert.equal(cli(['replay', '--check'], { cwd: repo.dir }).code, 0);
  });
});
