// Hash IDs (SPEC section 7, `ids: hash`): their shape beside numeric IDs, how new ones are drawn
// (with a scripted random source), how boards holding them read, and how a typed prefix resolves.
// The CLI's side is in hash-ids-cli.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashIdLength } from '../src/board/hash-ids.js';
import { idAllocator, parseBoard } from '../src/board/parse-board.js';
import type { Board } from '../src/board/types.js';
import { FileError, GuildError, UsageError } from '../src/errors.js';
import { branchFor, taskOfBranch } from '../src/git/branch-name.js';
import { isHashId, isTaskId, parseTaskId, parseTypedTaskId, taskNumber } from '../src/identifiers.js';
import { resolveTypedId } from '../src/tasks/typed-id.js';

function boardText(ids: 'hash' | 'number', ready: string[], extra: string[] = []): string {
  return ['---', 'guild: 1', 'prefix: GLD', `ids: ${ids}`, '---', '# Active Tasks', '', '## Backlog', ...extra, '', '## Blocked', '', '## Ready', ...ready, '', '## In Progress', '', '## Done', '', '## Failed', ''].join('\n');
}

async function board(ids: 'hash' | 'number', ready: string[], extra: string[] = []): Promise<Board> {
  return parseBoard('ACTIVE_TASKS.md', boardText(ids, ready, extra));
}

/** A random source that answers from `script` (indexes into the alphabet drawn from), then `rest`. */
function scripted(script: number[], rest: (max: number) => number = () => 0): (max: number) => number {
  const queue = [...script];
  return (max) => {
    const next = queue.shift();
    if (next === undefined) return rest(max);
    assert.ok(next < max, `scripted ${next} within [0, ${max})`);
    return next;
  };
}

/** Draws for the part after the dash: the first from A-Z, the rest from 0-9A-Z. */
function draws(part: string): number[] {
  return [...part].map((ch, i) => (i === 0 ? ch.charCodeAt(0) - 65 : '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'.indexOf(ch)));
}

function errorOf(fn: () => unknown): GuildError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof GuildError, `expected a GuildError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an error');
}

describe('the shape of a hash ID', () => {
  test('4 to 12 of A-Z 0-9 after the dash, a letter first, beside numeric IDs', () => {
    for (const id of ['GLD-K3F9', 'GLD-AAAA', 'T-Z000', 'A1B-ABCDEFGHIJKL', 'GLD-7', 'GLD-999999999']) assert.ok(isTaskId(id), id);
    for (const id of ['GLD-K3F', 'GLD-ABCDEFGHIJKLM', 'GLD-3KF9', 'GLD-k3f9', 'GLD-K3F9/..', 'GLD-K3F9.lock', 'GLD-K3-F9', 'GLD-K3F_', 'GLD-Ä3F9']) {
      assert.equal(isTaskId(id), false, id);
    }
    assert.ok(isHashId('GLD-K3F9'));
    assert.equal(isHashId('GLD-12'), false);
    assert.equal(taskNumber('GLD-K3F9'), 0, 'a hash ID carries no number');
    assert.equal(taskNumber('GLD-12'), 12);
  });

  test('typed in any case; a letter after the dash is a prefix for the board to resolve, digits are exact', () => {
    assert.equal(parseTaskId('gld-k3f9'), 'GLD-K3F9');
    assert.deepEqual(parseTypedTaskId('gld-k'), { value: 'GLD-K', exact: false });
    assert.deepEqual(parseTypedTaskId('GLD-K3F9'), { value: 'GLD-K3F9', exact: false });
    assert.deepEqual(parseTypedTaskId('gld-12'), { value: 'GLD-12', exact: true });
    for (const bad of ['GLD-', 'GLD-1K', 'GLD-07', 'GLD-K/', 'GLD-K..', 'GLD-ABCDEFGHIJKLM', '../GLD-K', '-GLD-K']) {
      const error = errorOf(() => parseTypedTaskId(bad));
      assert.ok(error instanceof UsageError, bad);
      assert.equal(error.code, 'EBADID', bad);
    }
  });

  test('branch names carry a hash ID and give it back', () => {
    const branch = branchFor('GLD-K3F9', 'Add the users table');
    assert.equal(branch, 'guild/GLD-K3F9-add-the-users-table');
    assert.equal(taskOfBranch(branch), 'GLD-K3F9');
    assert.equal(taskOfBranch('guild/GLD-K3F9'), 'GLD-K3F9');
    assert.equal(taskOfBranch('refs/heads/guild/GLD-ABCDEFGHIJKL-x'), 'GLD-ABCDEFGHIJKL');
    assert.equal(taskOfBranch('guild/GLD-K3F-x'), null);
    assert.equal(taskOfBranch('guild/GLD-K3F9X-Y'), null);
  });
});

describe('new hash IDs', () => {
  test('an `ids: hash` board gets <PREFIX>-<letter><base36>, 4 characters on a small board', async () => {
    const next = idAllocator(await board('hash', ['- [ ] GLD-1 Numbered before the switch']));
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const id = next();
      assert.match(id, /^GLD-[A-Z][A-Z0-9]{3}$/);
      assert.ok(isTaskId(id) && isHashId(id), id);
      assert.ok(!seen.has(id), `${id} given twice`);
      seen.add(id);
    }
  });

  test('the injected source decides the ID', async () => {
    const next = idAllocator(await board('hash', []), scripted([...draws('K3F9'), ...draws('Z0Z0')]));
    assert.equal(next(), 'GLD-K3F9');
    assert.equal(next(), 'GLD-Z0Z0');
  });

  test('the length grows with the board, keeping new IDs sparse, up to 12', async () => {
    assert.equal(hashIdLength(0), 4);
    assert.equal(hashIdLength(1_212), 4); // 26 * 36^3 = 1,213,056 four-character IDs
    assert.equal(hashIdLength(1_213), 5);
    assert.equal(hashIdLength(43_000), 5);
    assert.equal(hashIdLength(44_000), 6);
    assert.equal(hashIdLength(Number.MAX_SAFE_INTEGER), 12);
    for (let count = 0; count < 1e12; count = count * 3 + 1) {
      const length = hashIdLength(count);
      assert.ok(26 * 36 ** (length - 1) >= 1000 * (count + 1) || length === 12, `${count} IDs: length ${length}`);
    }
    // On a board: 1,300 tasks (and IDs named only in needs count too).
    const tasks = Array.from({ length: 1_300 }, (_, i) => `- [ ] GLD-${i + 1} Task ${i + 1}`);
    const big = await board('hash', tasks);
    assert.match(idAllocator(big)(), /^GLD-[A-Z][A-Z0-9]{4}$/);
  });

  test('a collision with a task ID or an ID named in needs is drawn again', async () => {
    const b = await board('hash', ['- [ ] GLD-AAAA Taken', '- [ ] GLD-BBBB Waits needs:GLD-CCCC,GLD-77']);
    const next = idAllocator(b, scripted([...draws('AAAA'), ...draws('CCCC'), ...draws('BBBB'), ...draws('DDDD')]));
    assert.equal(next(), 'GLD-DDDD');
    // And never twice from one allocator (one write may give several).
    const again = idAllocator(b, scripted([...draws('EEEE'), ...draws('EEEE'), ...draws('FFFF')]));
    assert.equal(again(), 'GLD-EEEE');
    assert.equal(again(), 'GLD-FFFF');
  });

  test('a source that keeps colliding makes the ID longer rather than loop', async () => {
    const b = await board('hash', ['- [ ] GLD-A000 Taken']);
    assert.equal(idAllocator(b, () => 0)(), 'GLD-A0000');
  });

  test('a source that collides at every length is an error, not a hang', async () => {
    const b = await board('hash', []);
    const next = idAllocator(b, () => 0);
    for (let length = 4; length <= 12; length++) assert.equal(next(), `GLD-A${'0'.repeat(length - 1)}`);
    const error = errorOf(() => next());
    assert.ok(error instanceof FileError);
    assert.equal(error.code, 'EIDSPACE');
  });

  test('an `ids: number` board holding hash IDs numbers on from its highest numeric ID', async () => {
    const b = await board('number', ['- [ ] GLD-K3F9 Merged from a hash clone', '- [ ] GLD-4 Numbered', '- [ ] GLD-ZZZZ Another needs:GLD-ABCD']);
    const next = idAllocator(b);
    assert.equal(next(), 'GLD-5');
    assert.equal(next(), 'GLD-6');
  });

  test('the front matter says which: number unless ids: hash', async () => {
    assert.equal((await parseBoard('B.md', boardText('hash', []))).settings.ids, 'hash');
    assert.match(idAllocator(await parseBoard('B.md', boardText('number', [])))(), /^GLD-1$/);
  });
});

describe('boards holding hash IDs', () => {
  const mixed = [
    '- [ ] GLD-K3F9 A hash task prio:high',
    '- [ ] GLD-3 A numbered one needs:GLD-K3F9',
    '- [ ] GLD-ABCDEFGHIJKL The longest hash ID needs:GLD-3,GLD-ZZZZ',
    '- [ ] HTTP-TIMEOUT is a title, not another board\'s ID',
    '- [ ] GLD-API three letters are a word, not an ID',
    '- [ ] GLD-CONFIGURATION thirteen letters are a word too',
  ];

  test('numeric and hash IDs read side by side, by both readers', async () => {
    for (const reader of ['auto', 'remark'] as const) {
      const b = await parseBoard('ACTIVE_TASKS.md', boardText('number', mixed), { reader });
      assert.deepEqual(b.tasks.map((task) => task.id), ['GLD-K3F9', 'GLD-3', 'GLD-ABCDEFGHIJKL', null, null, null], reader);
      assert.deepEqual(b.byId.get('GLD-3')!.needs, ['GLD-K3F9']);
      assert.deepEqual(b.byId.get('GLD-ABCDEFGHIJKL')!.needs, ['GLD-3', 'GLD-ZZZZ']);
      assert.equal(b.byId.get('GLD-K3F9')!.prio, 'high');
      assert.equal(b.tasks[3]!.title, 'HTTP-TIMEOUT is a title, not another board\'s ID');
      assert.equal(b.tasks[4]!.title, 'GLD-API three letters are a word, not an ID');
    }
  });

  test('a numeric ID of another prefix is still an error; a need that is no ID is refused', async () => {
    await assert.rejects(board('hash', ['- [ ] T-4 Wrong prefix']), (error: FileError) => error.code === 'EBADID');
    await assert.rejects(board('hash', ['- [ ] GLD-K3F9 Bad need needs:GLD-K3F']), (error: FileError) => error.code === 'EFIELD');
    await assert.rejects(board('hash', ['- [ ] GLD-K3F9 Bad need needs:gld-k3f9']), (error: FileError) => error.code === 'EFIELD');
  });

  test('the same hash ID twice is a duplicate, as a number would be', async () => {
    await assert.rejects(board('hash', ['- [ ] GLD-K3F9 One', '- [ ] GLD-K3F9 Two']), (error: FileError) => error.code === 'EDUPLICATE');
  });
});

describe('a typed ID resolved against the board', () => {
  const tasks = ['- [ ] GLD-K3F9 One', '- [ ] GLD-K3F9A Longer', '- [ ] GLD-K3AB Two', '- [ ] GLD-QQQQ Three', '- [ ] GLD-4 Numbered'];

  test('an exact ID wins; else the one task whose ID starts with it, in any case', async () => {
    const b = await board('hash', tasks);
    assert.equal(resolveTypedId(b, 'GLD-K3F9'), 'GLD-K3F9', 'exact, though GLD-K3F9A starts with it');
    assert.equal(resolveTypedId(b, 'gld-k3f9a'), 'GLD-K3F9A');
    assert.equal(resolveTypedId(b, 'GLD-K3A'), 'GLD-K3AB');
    assert.equal(resolveTypedId(b, 'gld-q'), 'GLD-QQQQ');
  });

  test('several: EAMBIGUOUS (exit 2) naming them', async () => {
    const b = await board('hash', tasks);
    const error = errorOf(() => resolveTypedId(b, 'gld-k3'));
    assert.ok(error instanceof UsageError);
    assert.equal(error.code, 'EAMBIGUOUS');
    assert.equal(error.exitCode, 2);
    assert.deepEqual(error.data.candidates, ['GLD-K3AB', 'GLD-K3F9', 'GLD-K3F9A']);
    assert.match(error.message, /GLD-K3AB, GLD-K3F9, GLD-K3F9A/);
    assert.equal((errorOf(() => resolveTypedId(b, 'GLD-K3F')).data.candidates as string[]).length, 2);
  });

  test('none: a whole ID is passed on for the command to say there is no such task; a shorter prefix is a bad ID', async () => {
    const b = await board('hash', tasks);
    assert.equal(resolveTypedId(b, 'GLD-XXXX'), 'GLD-XXXX');
    const error = errorOf(() => resolveTypedId(b, 'GLD-X'));
    assert.equal(error.code, 'EBADID');
    assert.equal(error.exitCode, 2);
  });

  test('another board\'s prefix is a bad ID (EBADID, exit 2), as a number with it is', async () => {
    const b = await board('hash', tasks);
    for (const typed of ['bad-id', 'T-K3F9', 'GLDX-K']) {
      const error = errorOf(() => resolveTypedId(b, typed));
      assert.equal(error.code, 'EBADID', typed);
      assert.equal(error.exitCode, 2);
    }
  });

  test('numeric IDs are exact, never prefixes', async () => {
    const b = await board('hash', tasks);
    assert.equal(resolveTypedId(b, 'GLD-4'), 'GLD-4');
    assert.equal(resolveTypedId(b, 'GLD-40'), 'GLD-40', 'not on the board: still that ID, not GLD-4');
  });
});
