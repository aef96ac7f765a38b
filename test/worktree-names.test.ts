// The pure parts: branch names from titles, the task of a branch, and the splitting of the
// board's command lines into argv (which never reaches a shell).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { branchFor, slugOf, taskOfBranch } from '../src/git/branch-name.js';
import { splitCommandLine } from '../src/command-line.js';
import { isBranchName } from '../src/identifiers.js';

test('slugs are [a-z0-9-], at most 40 characters, never empty', () => {
  const cases: [string, string][] = [
    ['Add the login form', 'add-the-login-form'],
    ['Café crème: ünïcodé!', 'cafe-creme-unicode'],
    ['ø stays out', 'stays-out'],
    ['$(rm -rf /); `id` && echo "x"', 'rm-rf-id-echo-x'],
    ['日本語', 'task'],
    ['---', 'task'],
    ['a'.repeat(100), 'a'.repeat(40)],
    [`${'word '.repeat(7)}end`, 'word-word-word-word-word-word-word-end'],
    ['ends with a dash at forty characters!! x', 'ends-with-a-dash-at-forty-characters-x'],
  ];
  for (const [title, slug] of cases) {
    assert.equal(slugOf(title), slug, title);
    assert.match(slugOf(title), /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/);
    assert.equal(isBranchName(branchFor('GLD-12', title)), true);
  }
  assert.throws(() => branchFor('../x', 'y'));
});

test('the task of a branch', () => {
  assert.equal(taskOfBranch('guild/GLD-4-users-table'), 'GLD-4');
  assert.equal(taskOfBranch('refs/heads/guild/GLD-12-task'), 'GLD-12');
  assert.equal(taskOfBranch('guild/GLD-4'), 'GLD-4');
  for (const other of ['main', 'guild/gld-4-x', 'guild/GLD-04-x', 'feature/GLD-4-x', 'guild/GLD-4-X', 'guild/GLD-4x']) assert.equal(taskOfBranch(other), null, other);
});

test('command lines split into argv; shell syntax is only characters', () => {
  const cases: [string, string[]][] = [
    ['npm test', ['npm', 'test']],
    ['  npm   run  build\t', ['npm', 'run', 'build']],
    [`node -e "console.log('a b')"`, ['node', '-e', "console.log('a b')"]],
    [`echo 'it''s'`, ['echo', 'its']],
    [`echo "say \\"hi\\" \\\\ \\n"`, ['echo', 'say "hi" \\ \\n']],
    ['echo a\\ b', ['echo', 'a b']],
    ['npm ci && rm -rf / ; $(id) `id` | cat > x', ['npm', 'ci', '&&', 'rm', '-rf', '/', ';', '$(id)', '`id`', '|', 'cat', '>', 'x']],
    ['echo ""', ['echo', '']],
  ];
  for (const [line, argv] of cases) assert.deepEqual(splitCommandLine(line), argv, line);
  assert.throws(() => splitCommandLine('echo "open'), /unclosed/);
});
