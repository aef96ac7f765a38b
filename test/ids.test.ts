// src/identifiers.ts: everything guild-fs puts into a path, a branch name or a command line
// passes here first, so these tests are about what is refused as much as what is accepted.
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../src/errors.js';
import {
  isAgentName,
  isBranchName,
  isTaskId,
  parseAgentName,
  parseCaps,
  parseTaskId,
  splitList,
  taskNumber,
} from '../src/identifiers.js';

function usageCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    return error.code;
  }
  assert.fail('expected a UsageError');
}

describe('task IDs', () => {
  test('well-formed IDs are accepted, whatever the prefix', () => {
    for (const id of ['GLD-1', 'T-12', 'A-999999999', 'A1B2-7', 'ABCDEFGHIJKLMNOP-3']) {
      assert.ok(isTaskId(id), id);
      assert.equal(parseTaskId(id), id);
    }
  });

  test('anything else is refused with EBADID', () => {
    const bad = [
      '',
      'GLD',
      'GLD-',
      '-1',
      'GLD-0',
      'GLD-07',
      'gld-1',
      'Gld-1',
      '1GLD-1',
      'GLD_1',
      'GLD-1a',
      'GLD--1',
      ' GLD-1',
      'GLD-1 ',
      'GLD-1\n',
      'GLD-1/..',
      '../x',
      '../GLD-1',
      'GLD-1/../../etc',
      'ABCDEFGHIJKLMNOPQ-1', // 17-character prefix
      'GLD-1234567890', // 10 digits
      'GLD-1.lock',
    ];
    for (const id of bad) {
      assert.equal(isTaskId(id), false, JSON.stringify(id));
      // Typed on the command line, an ID in the wrong case is still that ID (issue 11).
      if (isTaskId(id.toUpperCase())) assert.equal(parseTaskId(id), id.toUpperCase());
      else assert.equal(usageCode(() => parseTaskId(id)), 'EBADID', JSON.stringify(id));
    }
  });

  test('a prefix given must match', () => {
    assert.equal(parseTaskId('GLD-4', 'GLD'), 'GLD-4');
    assert.equal(usageCode(() => parseTaskId('T-4', 'GLD')), 'EBADID');
    assert.equal(usageCode(() => parseTaskId('GLDX-4', 'GLD')), 'EBADID');
  });

  test('taskNumber reads the number after the last dash', () => {
    assert.equal(taskNumber('GLD-1'), 1);
    assert.equal(taskNumber('A1B-250'), 250);
  });
});

describe('agent names', () => {
  test('names of 1-64 of A-Z a-z 0-9 . _ - are accepted', () => {
    for (const name of ['a', 'agent-a', 'w31', 'Claude_2.1', 'a.b', '.hidden', 'x'.repeat(64), '-', '_']) {
      assert.ok(isAgentName(name), name);
      assert.equal(parseAgentName(name), name);
    }
  });

  test('path tricks, spaces and long names are refused with EBADAGENT', () => {
    const bad = ['', '.', '..', '...', 'a/b', '../../x', '..\\x', 'a\\b', 'a b', ' a', 'a\n', 'a\tb', 'é', 'a:b', 'a$(id)', 'x'.repeat(65)];
    for (const name of bad) {
      assert.equal(isAgentName(name), false, JSON.stringify(name));
      assert.equal(usageCode(() => parseAgentName(name)), 'EBADAGENT', JSON.stringify(name));
    }
  });

  test('the message names where the bad name came from', () => {
    assert.throws(() => parseAgentName('a b', 'GUILD_AGENT'), /GUILD_AGENT/);
    assert.throws(() => parseAgentName('a b'), /--agent/);
  });
});

describe('branch names', () => {
  const good = ['guild/GLD-4-create-the-users-table', 'main', 'feature/x.y', 'a-b_c', 'a/b/c', 'x'.repeat(200)];
  const bad = [
    '',
    '-x',
    '/x',
    'x/',
    'x.lock',
    'a..b',
    'a//b',
    '.x',
    'a/.x',
    'a b',
    'a~b',
    'a^b',
    'a:b',
    'a?b',
    'a*b',
    'a[b',
    'a\\b',
    'a@{b',
    'x'.repeat(201),
  ];

  test('ordinary branch names are accepted', () => {
    for (const name of good) assert.ok(isBranchName(name), name);
  });

  test('names git would refuse or misread are refused', () => {
    for (const name of bad) assert.equal(isBranchName(name), false, JSON.stringify(name));
  });

  // isBranchName guards `branch:` values read from the board before they reach git. Every name
  // it accepts should be one git accepts too.
  test(
    'every name it accepts passes git check-ref-format --branch',
    () => {
      const candidates = [...good, 'a.', 'a/b.', 'x.lock/y', 'HEAD', 'a/-b', 'a.lock.b', 'guild/GLD-1-fix.'];
      const disagree: string[] = [];
      for (const name of candidates) {
        if (!isBranchName(name)) continue;
        try {
          execFileSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' });
        } catch {
          disagree.push(name);
        }
      }
      assert.deepEqual(disagree, []);
    },
  );
});

describe('capabilities', () => {
  test('a comma-separated list, trimmed, empty parts dropped', () => {
    assert.deepEqual(parseCaps('db'), ['db']);
    assert.deepEqual(parseCaps('db, frontend ,x.y_z-1'), ['db', 'frontend', 'x.y_z-1']);
    assert.deepEqual(parseCaps(''), []);
    assert.deepEqual(parseCaps(' , ,'), []);
    assert.deepEqual(splitList('GLD-2,GLD-3'), ['GLD-2', 'GLD-3']);
  });

  test('bad capability names are refused with EBADCAP naming the source', () => {
    for (const caps of ['a b', 'db,a/b', 'db,../x', 'x'.repeat(65), 'é']) {
      assert.equal(usageCode(() => parseCaps(caps)), 'EBADCAP', JSON.stringify(caps));
    }
    assert.throws(() => parseCaps('a b', 'GUILD_CAPS'), /GUILD_CAPS/);
  });
});
