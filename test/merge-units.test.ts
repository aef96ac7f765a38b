// The two merges on their own, without git's merge machinery around them: the log's set merge
// (duplicates, rotations, torn tails) and the board's task-by-task merge (line ends kept, a
// board that cannot be read merged as text).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeLogs } from '../src/merge/merge-log.js';
import { mergeBoards } from '../src/tasks/merge-board.js';

const event = (n: number, task = 'GLD-1'): string => `{"v":1,"id":"01J${String(n).padStart(23, '0')}","ts":"2026-11-21T10:00:${String(n).padStart(2, '0')}.000Z","type":"task.edited","task":"${task}","agent":"a","host":"h","data":{}}`;
const log = (...lines: string[]): string => lines.map((line) => `${line}\n`).join('');

describe('mergeLogs', () => {
  test('ours first, then what only theirs has; an event both sides have is written once', () => {
    const merged = mergeLogs(log(event(1)), log(event(1), event(2), event(4)), log(event(1), event(3), event(4)));
    assert.equal(merged.text, log(event(1), event(2), event(4), event(3)));
    assert.equal(merged.added, 1);
  });

  test('an event is known by its id, not its spelling', () => {
    const respelled = event(2).replace('"agent":"a","host":"h"', '"host":"h","agent":"a"');
    assert.equal(mergeLogs('', log(event(2)), log(respelled)).text, log(event(2)));
  });

  test("lines a side rotated out of the live file stay out; the other side's new lines come in", () => {
    const base = log(event(1), event(2));
    const merged = mergeLogs(base, log(event(2), event(3)), log(event(1), event(2), event(4)));
    assert.equal(merged.text, log(event(2), event(3), event(4)));
    const theirsRotated = mergeLogs(base, log(event(1), event(2), event(3)), log(event(4)));
    assert.equal(theirsRotated.text, log(event(3), event(4)));
    assert.equal(theirsRotated.removed, 2);
  });

  test('a torn last line is left out and reported; CRLF and blank lines do not make duplicates', () => {
    const merged = mergeLogs(log(event(1)), `${event(1)}\r\n\n${event(2)}\n{"v":1,"id":"01J`, log(event(1), event(3)));
    assert.equal(merged.text, log(event(1), event(2), event(3)));
    assert.deepEqual(merged.torn, [{ side: 'ours', text: '{"v":1,"id":"01J' }]);
  });

  test('lines that are not events are kept once, by their text', () => {
    assert.equal(mergeLogs('', log('not json'), log('not json', event(1))).text, log('not json', event(1)));
  });
});

describe('mergeBoards', () => {
  const board = (ready: string[], done: string[], eol = '\n'): string =>
    ['# Tasks', '', 'Free text.', '', '## Ready', ...ready, '', '## Done', ...done, ''].join(eol);
  const noHistory = async () => null;

  test("each side's task changes and CRLF line ends are kept", async () => {
    const eol = '\r\n';
    const base = board(['- [ ] T-1 One', '- [ ] T-2 Two'], [], eol);
    const ours = board(['- [ ] T-2 Two'], ['- [x] T-1 One'], eol);
    const theirs = board(['- [ ] T-1 One', '- [ ] T-2 Two prio:high', '- [ ] T-3 Three'], [], eol);
    const merged = await mergeBoards({ file: 'ACTIVE_TASKS.md', base, ours, theirs, histories: noHistory });
    assert.equal(merged.conflicts, 0);
    assert.equal(merged.text, board(['- [ ] T-2 Two prio:high', '- [ ] T-3 Three'], ['- [x] T-1 One'], eol));
  });

  test('changed on both sides with no log to tell: ours, and the note says why', async () => {
    const base = board(['- [ ] T-1 One'], []);
    const merged = await mergeBoards({ file: 'ACTIVE_TASKS.md', base, ours: board(['- [ ] T-1 Ours'], []), theirs: board(['- [ ] T-1 Theirs'], []), histories: noHistory });
    assert.equal(merged.conflicts, 0);
    assert.match(merged.text, /T-1 Ours/);
    assert.match(merged.notes[0]!, /T-1 changed on both branches and their logs cannot be read/);
  });

  test('a board that cannot be read on one side is merged as plain text, and the note says so', async () => {
    const base = board(['- [ ] T-1 One'], []);
    const broken = board(['- [ ] T-1 One', '- [ ] T-1 Again'], []);
    const merged = await mergeBoards({ file: 'ACTIVE_TASKS.md', base, ours: base.replace('Free text.', 'Free words.'), theirs: broken, histories: noHistory });
    assert.match(merged.notes[0]!, /theirs's board cannot be read .*duplicate|theirs's board cannot be read/);
    assert.match(merged.text, /Free words\./);
    assert.match(merged.text, /T-1 Again/);
  });

  test('a task at a different place on each side comes out once, in ours\' place; theirs\' free text around it is kept', async () => {
    const base = board(['- [ ] T-1 One', '- [ ] T-2 Two', '- [ ] T-3 Three'], []);
    const ours = board(['- [ ] T-2 Two', '- [ ] T-3 Three', '- [ ] T-1 One tries:1'], []);
    const theirs = board(['- [ ] T-2 Two', '- [ ] T-1 One', '- [ ] T-3 Three'], []).replace('## Done', 'A note under Ready.\n\n## Done');
    const merged = await mergeBoards({ file: 'ACTIVE_TASKS.md', base, ours, theirs, histories: noHistory });
    assert.equal(merged.conflicts, 0, merged.notes.join('\n'));
    assert.equal(merged.text.match(/T-1/g)!.length, 1);
    assert.equal(merged.text, board(['- [ ] T-2 Two', '- [ ] T-3 Three', '- [ ] T-1 One tries:1'], []).replace('## Done', 'A note under Ready.\n\n## Done'));
  });
});
