// The live view `guild-fs run` shows at a terminal (runner/live-view.ts): what it draws, and that
// the lines it prints above its block are the plain output's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventLines } from '../src/runner/event-lines.js';
import { LiveView } from '../src/runner/live-view.js';
import { summarize } from '../src/runner/run-tasks.js';
import type { RunEvent } from '../src/runner/events.js';

function view(now: { t: number }) {
  const written: string[] = [];
  const live = new LiveView({ out: { write: (text) => (written.push(text), true), columns: 100 }, progress: async () => ({ done: 2, total: 5 }), now: () => now.t });
  return { live, written };
}

const at = (event: Record<string, unknown>): RunEvent => ({ time: '2026-11-30T00:00:00.000Z', ...event }) as unknown as RunEvent;

test('one line per worker (task, elapsed, last output line) under the board progress bar', async () => {
  const now = { t: 0 };
  const { live } = view(now);
  live.onEvent(at({ event: 'run.started', workers: ['a-1', 'a-2'], argv: ['agent'], template: 'shipped' }));
  await new Promise((resolve) => setImmediate(resolve));
  live.onEvent(at({ event: 'task.claimed', worker: 'a-1', task: 'T-3', title: 'x', try: 1, worktree: null, branch: null, log: '' }));
  now.t = 12_000;
  live.onOutput('a-1', 'running \x1b[31mtests\x1b[0m');
  live.stop();
  const block = live.block();
  assert.match(block[0]!, /^\[#+\.+\] 2\/5 done · 12s$/);
  assert.equal(block[1], 'a-1  T-3    12s  > running tests');
  assert.equal(block[2], 'a-2  idle');
});

test('event lines scroll above the block; the summary leaves no block behind', async () => {
  const now = { t: 0 };
  const { live, written } = view(now);
  live.onEvent(at({ event: 'run.started', workers: ['a-1'], argv: ['agent'], template: 'shipped' }));
  live.onEvent(at({ event: 'task.failed', worker: 'a-1', task: 'T-3', try: 1, ms: 500, reason: 'the agent exited with status 1\n\nits last lines:\nboom', poisoned: false, retry: null, committed: null }));
  live.onEvent(at({ event: 'run.summary', done: 0, failed: 1, released: 0, retried: 0, errors: 0, tries: [{ task: 'T-3', worker: 'a-1', try: 1, outcome: 'failed', ms: 500 }], ms: 600, exitCode: 6 }));
  const text = written.join('');
  assert.match(text, /a-1 {2}T-3 failed in 500ms: the agent exited with status 1: boom\n/);
  assert.match(text, /run: 1 task: 0 done, 1 failed in 600ms\n {2}T-3 {2}failed/);
  // After the summary nothing is redrawn: the text ends with the summary's last line.
  assert.match(text, /\(try 1\)\n$/);
});

test('the summary counts tasks by their last try; failed tries that were retried are counted apart', () => {
  const tries = [
    { task: 'T-1', worker: 'a-1', try: 1, outcome: 'failed' as const, ms: 10 },
    { task: 'T-2', worker: 'a-2', try: 1, outcome: 'done' as const, ms: 10 },
    { task: 'T-1', worker: 'a-1', try: 2, outcome: 'failed' as const, ms: 10 },
    { task: 'T-1', worker: 'a-2', try: 3, outcome: 'done' as const, ms: 10 },
    { task: 'T-3', worker: 'a-1', try: 1, outcome: 'released' as const, ms: 10 },
  ];
  const summary = summarize(tries, 0, 1500);
  assert.deepEqual([summary.done, summary.failed, summary.released, summary.retried, summary.exitCode], [2, 0, 1, 2, 6]);
  const [line] = eventLines({ time: '', event: 'run.summary', ...summary });
  assert.equal(line!.text, 'run: 3 tasks: 2 done, 0 failed, 1 handed back in 2s; 2 failed tries were retried');
});

test('an agent command found unavailable: said above the block and kept in it, with the time it waits for, until it works again', () => {
  const now = { t: 0 };
  const { live, written } = view(now);
  live.onEvent(at({ event: 'run.started', workers: ['a-1'], argv: ['agent'], template: 'shipped' }));
  const until = new Date(2026, 10, 30, 14, 5, 9).toISOString();
  const reason = `Rate limit reached ${'x'.repeat(200)}; try again in 2 seconds`;
  live.onEvent(at({ event: 'agent.unavailable', command: 'claude -p', workers: ['a-1'], reason, until, wait: true, givenBack: 1 }));
  live.stop();
  assert.match(written.join(''), /run: agent claude -p unavailable: Rate limit reached x+; try again in 2 seconds; 1 try given back so far \(the tasks keep their tries\); waiting until 14:05:09 \(or --no-wait to stop\)\n/);
  const line = live.block()[1]!;
  // The reason is what is cut at the width; the time it waits for never is.
  assert.match(line, /^agent claude -p unavailable: Rate limit reached x+…; waiting until 14:05:09 \(or --no-wait to stop\)$/);
  assert.ok(line.length <= 99, `${line.length}`);
  live.onEvent(at({ event: 'agent.available', command: 'claude -p' }));
  live.stop();
  assert.equal(live.block()[1], 'a-1  idle');
});
