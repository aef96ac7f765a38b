// The helpers of cli-json-*.test.ts: run the built CLI with --json and check the envelope's
// shape (SPEC section 5) whatever the outcome, plus where a task stands on the board and in its lock.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cli, type CliResult } from './cli.js';
import { readLog, tempRepo, type TempRepo } from './repo.js';

/** A temp repo removed after the test; `init --example` run in it unless a board is given. */
export function repoFor(t: TestContext, board?: string): TempRepo {
  const repo = tempRepo(board);
  t.after(() => repo.remove());
  if (board === undefined) {
    const init = cli(['init', '--example', '--json'], { cwd: repo.dir });
    assert.equal(init.code, 0, init.stderr);
  } else {
    // A board of our own still needs .guild/ and the locks folder.
    const init = cli(['init', '--json'], { cwd: repo.dir });
    assert.equal(init.code, 0, init.stderr);
  }
  return repo;
}

/** Runs `guild-fs <args> --json` and checks the envelope's shape whatever the outcome. */
export function run(repo: TempRepo | string, args: string[], options: { agent?: string; env?: Record<string, string> } = {}): CliResult {
  const result = cli([...args, '--json'], { cwd: typeof repo === 'string' ? repo : repo.dir, ...options });
  assert.ok(result.json, `no JSON on stdout for ${args.join(' ')}`);
  assert.ok(result.stdout.endsWith('\n'), 'the document ends with a newline');
  assert.equal(result.stdout.trim().split('\n').length, 1, `exactly one JSON document (one line) on stdout:\n${result.stdout}`);
  if (result.json.ok) {
    assert.deepEqual(Object.keys(result.json), ['ok', 'result']);
  } else {
    assert.deepEqual(Object.keys(result.json).sort(), ['error', 'ok']);
    assert.equal(typeof result.json.error?.code, 'string');
    assert.equal(typeof result.json.error?.message, 'string');
    assert.match(result.stderr, /^guild-fs: /m, 'the error is also said on stderr');
  }
  return result;
}

/** The result of a command that must succeed. */
export function ok(repo: TempRepo | string, args: string[], options: { agent?: string; env?: Record<string, string> } = {}): any {
  const result = run(repo, args, options);
  assert.equal(result.code, 0, `${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  assert.equal(result.json!.ok, true);
  return result.json!.result;
}

/** The error of a command that must fail with `exit` (and, when given, error code `code`). */
export function fails(repo: TempRepo | string, args: string[], exit: number, code?: string, options: { agent?: string; env?: Record<string, string> } = {}): { code: string; message: string; data?: any } {
  const result = run(repo, args, options);
  assert.equal(result.json!.ok, false, `${args.join(' ')} should fail but printed ${result.stdout}`);
  assert.equal(result.code, exit, `${args.join(' ')}: exit ${result.code}, expected ${exit}: ${result.stdout}`);
  if (code !== undefined) assert.equal(result.json!.error!.code, code, result.json!.error!.message);
  return result.json!.error!;
}

/** Where a task's line is on the board: the level-2 heading above it and the line itself. */
export function placeOf(repo: TempRepo, id: string): { section: string; line: string } | null {
  let section = '';
  for (const line of repo.read().split(/\r?\n/)) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    else if (new RegExp(`^- \\[[ xX]\\] \`?${id}\`?(\\s|$)`).test(line)) return { section, line };
  }
  return null;
}

export const lockDir = (repo: TempRepo, id: string): string => join(repo.dir, '.git', 'guild', 'locks', `${id}.lock`);
export const ownerJson = (repo: TempRepo, id: string): Record<string, any> => JSON.parse(readFileSync(join(lockDir(repo, id), 'owner.json'), 'utf8'));
export const eventsOf = (repo: TempRepo, type: string, task?: string) => readLog(repo).filter((e) => e.type === type && (task === undefined || e.task === task));
export const ids = (tasks: { id: string }[]): string[] => tasks.map((task) => task.id);

export function withFrontMatter(repo: TempRepo, extra: string): void {
  repo.write(repo.read().replace('max_tries: 3\n', extra));
}

export function outsideAnyRepo(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'guild-fs-norepo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const future = (ms: number): string => new Date(Date.now() + ms).toISOString();
