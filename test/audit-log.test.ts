// src/log/: the append-only audit log. One JSON object per line, one write() per line, ULIDs
// that sort by time; the reader warns about a torn last line and refuses a damaged middle one.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FileError } from '../src/errors.js';
import { appendEvents, LOG_FILE } from '../src/log/append-event.js';
import { EVENT_TYPES, makeEvent, newUlid, type AuditEvent } from '../src/log/event.js';
import { readEvents, type LogWarning, type ReadOptions } from '../src/log/read-events.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratch = mkdtempSync(join(tmpdir(), 'guild-fs-log-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let counter = 0;
/** A path for a log in a fresh folder (the .guild/ folder itself does not exist yet). */
const freshLog = (): string => join(scratch, `repo-${++counter}`, LOG_FILE);

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ulidTime = (id: string): number => [...id.slice(0, 10)].reduce((n, c) => n * 32 + CROCKFORD.indexOf(c), 0);

function event(n: number, fields: Partial<Parameters<typeof makeEvent>[0]> = {}, now = Date.parse('2026-11-21T10:00:00.000Z') + n): AuditEvent {
  return makeEvent({ type: 'task.claimed', task: `GLD-${n}`, agent: 'agent-a', host: 'build-7', data: { n }, ...fields }, now);
}

async function readAll(path: string, options: ReadOptions = {}): Promise<{ events: { line: number; event: AuditEvent }[]; warnings: LogWarning[] }> {
  const warnings: LogWarning[] = [];
  const events: { line: number; event: AuditEvent }[] = [];
  for await (const item of readEvents(path, { ...options, onWarning: (warning) => warnings.push(warning) })) events.push(item);
  return { events, warnings };
}

function writeLog(lines: string[], end = '\n'): string {
  const path = freshLog();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, lines.join('\n') + end);
  return path;
}

const line = (n: number): string => JSON.stringify(event(n));

describe('event ids', () => {
  test('a ULID: 26 Crockford base32 characters whose first 10 are the time', () => {
    const now = Date.parse('2026-11-21T10:00:00.123Z');
    const id = newUlid(now);
    assert.match(id, ULID);
    assert.equal(ulidTime(id), now);
  });

  test('monotonic within one process, even within one millisecond', () => {
    const now = Date.parse('2026-11-21T10:00:00.000Z');
    const ids = Array.from({ length: 5_000 }, () => newUlid(now));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} < ${ids[i]}`);
    assert.ok(ids.every((id) => ulidTime(id) === now));
  });

  test('makeEvent ids in the same millisecond stay in the order they were made', () => {
    const now = Date.now();
    const events = Array.from({ length: 1_000 }, (_, i) => event(i, {}, now));
    const ids = events.map((e) => e.id);
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('unique across many calls and sortable by time', () => {
    const start = Date.parse('2026-11-21T10:00:00.000Z');
    const made: { id: string; now: number }[] = [];
    for (let i = 0; i < 20_000; i++) {
      const now = start + Math.floor(i / 7);
      made.push({ id: newUlid(now), now });
    }
    assert.equal(new Set(made.map((m) => m.id)).size, made.length);
    const sorted = [...made].sort((a, b) => (a.id < b.id ? -1 : 1));
    assert.deepEqual(
      sorted.map((m) => m.now),
      made.map((m) => m.now),
    );
  });
});

describe('appendEvents', () => {
  test('one JSON object per line with the SPEC fields, in order; creates .guild/', () => {
    const path = freshLog();
    const first = makeEvent({ type: 'task.claimed', task: 'GLD-4', agent: 'agent-a', host: 'build-7', data: { branch: 'guild/GLD-4-x' } }, Date.parse('2026-11-21T10:00:00.000Z'));
    const second = makeEvent({ type: 'daemon.started', agent: 'agent-b', host: 'build-7' }, Date.parse('2026-11-21T10:00:00.001Z'));
    appendEvents(path, [first]);
    appendEvents(path, [second]);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.endsWith('\n'));
    const lines = text.split('\n').slice(0, -1);
    assert.equal(lines.length, 2);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(Object.keys(parsed[0]!), ['v', 'id', 'ts', 'type', 'task', 'agent', 'host', 'data']);
    assert.deepEqual(parsed[0], { v: 1, id: first.id, ts: '2026-11-21T10:00:00.000Z', type: 'task.claimed', task: 'GLD-4', agent: 'agent-a', host: 'build-7', data: { branch: 'guild/GLD-4-x' } });
    assert.deepEqual(Object.keys(parsed[1]!), ['v', 'id', 'ts', 'type', 'agent', 'host', 'data'], 'no task key for an event about no task');
    assert.equal(parsed[1]!.ts, '2026-11-21T10:00:00.001Z');
    assert.match(String(parsed[0]!.id), ULID);
  });

  test('a batch is appended in order, each event on its own line', () => {
    const path = freshLog();
    const batch = Array.from({ length: 50 }, (_, i) => event(i));
    appendEvents(path, batch);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as AuditEvent).id),
      batch.map((e) => e.id),
    );
  });

  test('nothing to append: no file is created', () => {
    const path = freshLog();
    appendEvents(path, []);
    assert.equal(existsSync(path), false);
  });

  test('every event type of the SPEC is known', () => {
    for (const type of ['task.created', 'task.claimed', 'task.completed', 'task.failed', 'task.poisoned', 'task.unblocked', 'lock.healed', 'daemon.stopped']) {
      assert.ok((EVENT_TYPES as readonly string[]).includes(type), type);
    }
  });

  test('line breaks and non-ASCII inside data stay inside one line', async () => {
    const path = freshLog();
    const odd = event(1, { data: { reason: 'line one\nline two\r\n\u2028 é 漢字 🙂' } });
    appendEvents(path, [odd, event(2)]);
    assert.equal(readFileSync(path, 'utf8').trimEnd().split('\n').length, 2);
    const { events } = await readAll(path);
    assert.deepEqual(events[0]!.event, odd);
  });

  test(
    'an append after a torn last line (a crash mid-append) is not glued onto it',
    async () => {
      const before = event(1);
      const path = writeLog([JSON.stringify(before), line(2).slice(0, 30)], '');
      const next = event(3);
      appendEvents(path, [next], { exclusive: true });
      const { events, warnings } = await readAll(path, { lenient: true });
      assert.deepEqual(
        events.map((e) => e.event.id),
        [before.id, next.id],
        'the event appended after the crash is still readable',
      );
      assert.equal(warnings.length, 1, 'only the torn line is reported');
      // Strict reading must not fail either: the torn line is the crash's fault, not damage.
      await readAll(path);
    },
  );
});

describe('readEvents', () => {
  test('yields each event with its line number; blank lines and CRLF are fine', async () => {
    const path = writeLog([line(1), '', line(2) + '\r', '   ', line(3)]);
    const { events, warnings } = await readAll(path);
    assert.deepEqual(
      events.map((e) => [e.line, e.event.data.n]),
      [
        [1, 1],
        [3, 2],
        [5, 3],
      ],
    );
    assert.deepEqual(warnings, []);
  });

  test('a missing log reads as empty', async () => {
    const { events, warnings } = await readAll(join(scratch, 'no-such', LOG_FILE));
    assert.deepEqual(events, []);
    assert.deepEqual(warnings, []);
  });

  test('a last line without its newline that parses is an event', async () => {
    const path = writeLog([line(1), line(2)], '');
    const { events, warnings } = await readAll(path);
    assert.equal(events.length, 2);
    assert.deepEqual(warnings, []);
  });

  test('a torn last line is reported with its line number and skipped', async () => {
    const path = writeLog([line(1), line(2), line(3).slice(0, 40)], '');
    const { events, warnings } = await readAll(path);
    assert.deepEqual(
      events.map((e) => e.line),
      [1, 2],
    );
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.file, LOG_FILE);
    assert.equal(warnings[0]!.line, 3);
    assert.match(warnings[0]!.message, /torn last line/);
  });

  test('a torn last line is a warning even when strict, and its number counts blank lines', async () => {
    const path = writeLog([line(1), '', line(2), '{"v":1,"id":"01'], '');
    const { events, warnings } = await readAll(path, { displayName: 'elsewhere.jsonl' });
    assert.equal(events.length, 2);
    assert.deepEqual(
      warnings.map((w) => [w.file, w.line]),
      [['elsewhere.jsonl', 4]],
    );
  });

  test('a malformed middle line throws a FileError naming .guild/audit.jsonl:<line>', async () => {
    // Not the start of an event cut short (that is a torn line, see above): damage.
    const path = writeLog([line(1), '{"v":1,"id":"01J", oops}', line(3)]);
    const error = await readAll(path).then(
      () => assert.fail('expected a FileError'),
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof FileError, String(error));
    assert.equal(error.code, 'ELOG');
    assert.equal(error.exitCode, 2);
    assert.equal(error.file, '.guild/audit.jsonl');
    assert.equal(error.line, 2);
    assert.match(error.message, /^\.guild\/audit\.jsonl:2: not valid JSON/);
  });

  test('a middle line that is JSON but not an event is damage too', async () => {
    const cases: [string, RegExp][] = [
      ['[1,2]', /must be a JSON object/],
      ['"text"', /must be a JSON object/],
      ['null', /must be a JSON object/],
      ['{"v":1,"ts":"2026-11-21T10:00:00.000Z","type":"task.claimed"}', /no string "id"/],
      ['{"v":1,"id":"X","type":"task.claimed"}', /no string "ts"/],
      ['{"v":1,"id":"X","ts":"2026-11-21T10:00:00.000Z"}', /no string "type"/],
      ['{"v":1,"id":"X","ts":"not a time","type":"task.claimed"}', /ts is not a time/],
    ];
    for (const [bad, why] of cases) {
      const path = writeLog([line(1), line(2), bad, line(4)]);
      await assert.rejects(readAll(path), (error: unknown) => {
        assert.ok(error instanceof FileError);
        assert.equal(error.line, 3, bad);
        assert.match(error.message, /^\.guild\/audit\.jsonl:3: /);
        assert.match(error.message, why);
        return true;
      });
    }
  });

  test('events before the damage are yielded, then it throws', async () => {
    const path = writeLog([line(1), line(2), 'garbage', line(4)]);
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const { line: n } of readEvents(path)) seen.push(n);
    }, /audit\.jsonl:3:/);
    assert.deepEqual(seen, [1, 2]);
  });

  test('lenient: a malformed middle line is skipped with a warning naming its line', async () => {
    const path = writeLog([line(1), 'garbage', line(3), '{"id":1}', line(5), '{"torn'], '');
    const { events, warnings } = await readAll(path, { lenient: true });
    assert.deepEqual(
      events.map((e) => e.line),
      [1, 3, 5],
    );
    assert.deepEqual(
      warnings.map((w) => w.line),
      [2, 4, 6],
    );
    assert.match(warnings[0]!.message, /not valid JSON.*skipped/);
    assert.match(warnings[2]!.message, /torn last line/);
  });

  test('a log far bigger than one read chunk, with multi-byte text across chunk edges, reads back exactly', async () => {
    const path = freshLog();
    const written = Array.from({ length: 3_000 }, (_, i) => event(i, { data: { n: i, text: '漢字🙂é'.repeat(i % 37) } }));
    appendEvents(path, written);
    const { events, warnings } = await readAll(path);
    assert.deepEqual(warnings, []);
    assert.equal(events.length, written.length);
    events.forEach(({ line: n, event: e }, i) => {
      assert.equal(n, i + 1);
      assert.deepEqual(e, written[i]);
    });
  });
});

describe('concurrent appends', () => {
  test('8 processes x 200 appends never interleave within a line and lose nothing', async () => {
    const path = freshLog();
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, '');
    const script = join(scratch, 'append-many.mts');
    writeFileSync(
      script,
      `
import { appendEvents } from '${pathToFileURL(join(ROOT, 'src/log/append-event.ts')).href}';
import { makeEvent } from '${pathToFileURL(join(ROOT, 'src/log/event.ts')).href}';
const [path, writer, go] = process.argv.slice(2);
// Start together: wait for the shared start time, then append as fast as possible.
while (Date.now() < Number(go)) await new Promise((r) => setTimeout(r, 1));
// Lines of a few kilobytes: big enough that an interleaved write would show.
const padding = writer.repeat(3000 / writer.length);
for (let seq = 0; seq < 200; seq++) {
  appendEvents(path, [makeEvent({ type: 'task.edited', task: 'GLD-1', agent: writer, host: 'h', data: { seq, padding } })]);
}
`,
    );
    const go = String(Date.now() + 2_500);
    const writers = Array.from({ length: 8 }, (_, i) => `writer${i}`);
    await Promise.all(
      writers.map(
        (writer) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(process.execPath, ['--import', 'tsx', script, path, writer, go], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
            child.on('error', reject);
            child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${writer} exited ${code}: ${stderr}`))));
          }),
      ),
    );

    const text = readFileSync(path, 'utf8');
    assert.ok(text.endsWith('\n'));
    const lines = text.slice(0, -1).split('\n');
    assert.equal(lines.length, 8 * 200);
    const seqs = new Map<string, number[]>();
    const ids = new Map<string, string[]>();
    for (const [i, raw] of lines.entries()) {
      let parsed: AuditEvent;
      try {
        parsed = JSON.parse(raw) as AuditEvent;
      } catch {
        assert.fail(`line ${i + 1} is not one JSON object: ${raw.slice(0, 120)}...`);
      }
      const writer = parsed.agent;
      assert.equal(parsed.data.padding, writer.repeat(3000 / writer.length), `line ${i + 1}: padding from one writer only`);
      seqs.set(writer, [...(seqs.get(writer) ?? []), parsed.data.seq as number]);
      ids.set(writer, [...(ids.get(writer) ?? []), parsed.id]);
    }
    for (const writer of writers) {
      assert.deepEqual(
        seqs.get(writer),
        Array.from({ length: 200 }, (_, k) => k),
        `${writer}'s events are all there, in its order`,
      );
      const own = ids.get(writer)!;
      for (let k = 1; k < own.length; k++) assert.ok(own[k - 1]! < own[k]!, `${writer}'s ids increase`);
    }
    const all = [...ids.values()].flat();
    assert.equal(new Set(all).size, all.length, 'ids are unique across processes');
    const { events, warnings } = await readAll(path);
    assert.equal(events.length, 1_600);
    assert.deepEqual(warnings, []);
  });
});
