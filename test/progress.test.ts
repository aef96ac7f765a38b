// The progress line: only for a person at a terminal, throttled, erased at the end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressBar } from '../src/cli/progress.js';

function terminal(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, written, write: (text: string) => void written.push(text) };
}

test('draws on a terminal, at most every 100 ms, and erases itself', () => {
  const stderr = terminal(true);
  let clock = 0;
  const bar = progressBar('replay', { json: false, stdout: terminal(true), stderr, now: () => clock, minBytes: 0 });
  clock = 1_000;
  bar.update(25, 100);
  clock = 1_050;
  bar.update(50, 100); // too soon: skipped
  clock = 1_200;
  bar.update(100, 100);
  bar.done();
  assert.equal(stderr.written.length, 3);
  assert.match(stderr.written[0]!, /^\rreplay \[#{8} {22}\] 25% of 0 MiB$/);
  assert.match(stderr.written[1]!, /^\rreplay \[#{30}\] 100%/);
  assert.equal(stderr.written[2], '\r\x1b[2K');
});

test('nothing when stdout or stderr is not a terminal, with --json, or for a small log', () => {
  for (const options of [
    { json: true, stdout: terminal(true), stderr: terminal(true) },
    { json: false, stdout: terminal(false), stderr: terminal(true) },
    { json: false, stdout: terminal(true), stderr: terminal(false) },
  ]) {
    const bar = progressBar('stats', { ...options, now: () => 10_000, minBytes: 0 });
    bar.update(1, 2);
    bar.done();
    assert.deepEqual(options.stderr.written, []);
  }
  const stderr = terminal(true);
  const small = progressBar('stats', { json: false, stdout: terminal(true), stderr, now: () => 10_000 });
  small.update(1, 1024);
  small.done();
  assert.deepEqual(stderr.written, []);
});
