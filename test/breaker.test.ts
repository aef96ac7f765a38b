// The breaker's state machine (src/runner/breaker.ts) on a fake clock: what opens it, what it
// gives back, how long it waits, the one try after the wait; and the reset times CLIs print.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Breaker, reasonKey } from '../src/runner/breaker.js';
import { compilePatterns, DEFAULT_UNAVAILABLE, matchUnavailable, resetTime } from '../src/runner/unavailable.js';

const EXIT1 = 'the agent exited with status 1';
const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);

function breakerAt(start = T0): { breaker: Breaker; clock: { now: number } } {
  const clock = { now: start };
  const breaker = new Breaker({ now: () => clock.now, patterns: compilePatterns(DEFAULT_UNAVAILABLE), policy: { threshold: 3, fastMs: 15_000, backoffMs: 60_000, maxBackoffMs: 30 * 60_000 } });
  return { breaker, clock };
}

const fail = (task: string, line: string, ms = 800) => ({ task, ms, reason: EXIT1, tail: ['starting', line] });

describe('the breaker', () => {
  test('an unavailable: pattern opens it on the first try, gives it back, and waits for the printed reset', () => {
    const { breaker } = breakerAt();
    const verdict = breaker.failed(fail('GLD-1', 'Rate limit reached; try again in 2 seconds'));
    assert.equal(verdict.kind, 'unavailable');
    assert.ok(verdict.kind === 'unavailable');
    assert.deepEqual(verdict.giveBack, ['GLD-1']);
    assert.equal(verdict.opened, true);
    assert.equal(verdict.until, T0 + 2_000);
    assert.deepEqual(breaker.gate(0), { kind: 'wait', until: T0 + 2_000 });
  });

  test('tries under way when it opened, failing the same way, are given back without opening it again', () => {
    const { breaker } = breakerAt();
    breaker.failed(fail('GLD-1', 'error: not logged in'));
    const second = breaker.failed(fail('GLD-2', 'error: not logged in'));
    assert.ok(second.kind === 'unavailable');
    assert.equal(second.opened, false);
    assert.deepEqual(second.giveBack, ['GLD-2']);
    // Not logged in names no reset time: the first backoff, a minute.
    assert.equal(second.until, T0 + 60_000);
    const own = breaker.failed(fail('GLD-3', 'TypeError: x is undefined', 40_000));
    assert.deepEqual(own, { kind: 'failed', settle: [] });
  });

  test('fast failures with the same reason on different tasks are held, then given back together when they open it', () => {
    const { breaker } = breakerAt();
    assert.deepEqual(breaker.failed(fail('GLD-1', 'fatal: session GLD-1 expired (code 17)')), { kind: 'held', settle: [] });
    // While one is held: only as many new tries as could still open it.
    assert.deepEqual(breaker.gate(1), { kind: 'start', trial: false });
    assert.deepEqual(breaker.gate(2), { kind: 'wait', until: null });
    assert.deepEqual(breaker.failed(fail('GLD-2', 'fatal: session GLD-2 expired (code 18)')), { kind: 'held', settle: [] });
    const third = breaker.failed(fail('GLD-3', 'fatal: session GLD-3 expired (code 19)'));
    assert.ok(third.kind === 'unavailable');
    assert.deepEqual(third.giveBack, ['GLD-1', 'GLD-2', 'GLD-3']);
    assert.match(third.reason, /3 tries in a row, on different tasks, failed within 15s the same way: fatal: session GLD-3 expired/);
    assert.deepEqual(breaker.holding(), []);
  });

  test('another reason, a slow failure, or a try that works: the held tries are their tasks\' own failures', () => {
    const { breaker } = breakerAt();
    breaker.failed(fail('GLD-1', 'assertion failed'));
    assert.deepEqual(breaker.failed(fail('GLD-2', 'syntax error')), { kind: 'held', settle: ['GLD-1'] });
    assert.deepEqual(breaker.failed(fail('GLD-3', 'syntax error', 20_000)), { kind: 'failed', settle: ['GLD-2'] });
    breaker.failed(fail('GLD-4', 'syntax error'));
    assert.deepEqual(breaker.worked(), ['GLD-4']);
    breaker.failed(fail('GLD-5', 'syntax error'));
    assert.deepEqual(breaker.settle(), ['GLD-5']);
    assert.equal(breaker.state().kind, 'closed');
  });

  test('after the wait: one try; it failing the same way re-opens with a doubled backoff, it working closes', () => {
    const { breaker, clock } = breakerAt();
    breaker.failed(fail('GLD-1', 'error: not logged in'));
    clock.now = T0 + 60_000;
    assert.equal(breaker.state().kind, 'half-open');
    assert.deepEqual(breaker.gate(0), { kind: 'start', trial: true });
    assert.deepEqual(breaker.gate(1), { kind: 'wait', until: null }, 'one try at a time after the wait');
    const again = breaker.failed(fail('GLD-2', 'error: not logged in'));
    assert.ok(again.kind === 'unavailable');
    assert.equal(again.opened, true);
    assert.equal(again.until, clock.now + 120_000);
    clock.now += 120_000;
    assert.deepEqual(breaker.gate(0), { kind: 'start', trial: true });
    assert.deepEqual(breaker.worked(), []);
    assert.equal(breaker.state().kind, 'closed');
    // Closed again: the backoff starts over.
    const later = breaker.failed(fail('GLD-3', 'error: not logged in'));
    assert.ok(later.kind === 'unavailable');
    assert.equal(later.until, clock.now + 60_000);
  });

  test('the backoff doubles up to its ceiling', () => {
    const { breaker, clock } = breakerAt();
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const verdict = breaker.failed(fail(`GLD-${i}`, 'error: not logged in'));
      assert.ok(verdict.kind === 'unavailable');
      waits.push((verdict.until - clock.now) / 60_000);
      clock.now = verdict.until;
      breaker.gate(0);
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
  });

  test('a trial that was stopped or claimed nothing lets the next one try', () => {
    const { breaker, clock } = breakerAt();
    breaker.failed(fail('GLD-1', 'usage limit reached'));
    clock.now += 60_000;
    assert.deepEqual(breaker.gate(0), { kind: 'start', trial: true });
    breaker.abandoned();
    assert.deepEqual(breaker.gate(0), { kind: 'start', trial: true });
  });

  test('the same reason: without the task\'s ID and numbers', () => {
    assert.equal(reasonKey('GLD-4', EXIT1, 'GLD-4: port 8123 busy'), reasonKey('GLD-9', EXIT1, 'GLD-9: port 8125 busy'));
    assert.notEqual(reasonKey('GLD-4', EXIT1, 'port busy'), reasonKey('GLD-4', 'the agent exited with status 2', 'disk full'));
  });
});

describe('what the recipes\' CLIs print', () => {
  const patterns = compilePatterns(DEFAULT_UNAVAILABLE);
  const broken = [
    'error: not logged in',
    'Invalid API key · Please run /login',
    'API Error: 401 {"type":"error","error":{"type":"authentication_error","message":"OAuth token has expired."}}',
    'Claude AI usage limit reached|1768050000',
    'Credit balance is too low',
    'ERROR: exceeded retry limit, last status: 429 Too Many Requests',
    "You've hit your usage limit. Upgrade to Pro or try again in 3 days 2 hours 5 minutes.",
    'stream error: unexpected status 401 Unauthorized: Missing bearer authentication',
    '[API Error: Quota exceeded for quota metric \'Gemini 2.5 Pro Requests\']',
    'RESOURCE_EXHAUSTED',
    'API key not valid. Please pass a valid API key.',
  ];
  for (const line of broken) test(`broken: ${line}`, () => assert.equal(matchUnavailable(['working...', line], patterns), line));
  for (const line of ['Error: test failed: expected 2, got 3', 'TypeError: Cannot read properties of undefined', 'npm ERR! code ELIFECYCLE']) {
    test(`a task's own failure: ${line}`, () => assert.equal(matchUnavailable([line], patterns), null));
  }
  test('a substring pattern is case-insensitive; a /regexp/ one is a regexp', () => {
    const own = compilePatterns(['Session Expired', '/^E\\d{3}: quota/']);
    assert.equal(matchUnavailable(['x', 'error: session expired'], own), 'error: session expired');
    assert.equal(matchUnavailable(['E042: quota'], own), 'E042: quota');
    assert.equal(matchUnavailable(['see E042: quota'], own), null);
  });
});

describe('reset times', () => {
  const now = new Date(2026, 0, 10, 13, 20, 0).getTime();
  test('relative: in N seconds, minutes, hours; after Ns', () => {
    assert.equal(resetTime(['Rate limit reached; try again in 2 seconds'], now), now + 2_000);
    assert.equal(resetTime(['please try again in 5 minutes'], now), now + 300_000);
    assert.equal(resetTime(['Retry after 30s'], now), now + 30_000);
    assert.equal(resetTime(['limit resets in 2h'], now), now + 7_200_000);
  });
  test('a clock time: the next one, local', () => {
    assert.equal(resetTime(['Your limit resets at 3pm'], now), new Date(2026, 0, 10, 15, 0, 0).getTime());
    assert.equal(resetTime(['resets 1:05pm'], now), new Date(2026, 0, 11, 13, 5, 0).getTime());
    assert.equal(resetTime(['reset at 14:30'], now), new Date(2026, 0, 10, 14, 30, 0).getTime());
  });
  test('an ISO time, and Claude Code\'s epoch seconds', () => {
    const iso = new Date(now + 600_000).toISOString();
    assert.equal(resetTime([`quota resets ${iso}`], now), now + 600_000);
    assert.equal(resetTime([`Claude AI usage limit reached|${Math.floor(now / 1000) + 900}`], now), Math.floor(now / 1000) * 1000 + 900_000);
  });
  test('none, past, or more than a day off: null (the backoff decides)', () => {
    assert.equal(resetTime(['error: not logged in'], now), null);
    assert.equal(resetTime([`resets ${new Date(now - 1000).toISOString()}`], now), null);
    assert.equal(resetTime(['try again in 3 days'], now), null);
  });
});
