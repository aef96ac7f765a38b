// What every scripted model server of the recipe tests asks its CLI to do, written once so the
// three servers (Anthropic Messages for Claude Code, OpenAI Responses for Codex, the Gemini API for
// Gemini CLI) and the checks agree: read the task's ID from guild-fs's prompt, have the CLI write
// one file for it with its own file tool, then say it is done. Also the check every recipe test
// makes at the end and the PATH folder that makes `guild-fs` a command for the CLIs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { BIN, cli, type CliResult, type ListedTask } from './cli.js';
import { boardWith, committedRepo } from './git-repo.js';
import type { TempRepo } from './repo.js';

/** The file the model asks for on task `id`, and what it holds. */
export interface ScriptedWrite {
  id: string;
  /** Relative to the worktree. */
  path: string;
  content: string;
}

// templates/prompt.md's first line: "You are working on task {{id}} of this repository's board: ...".
const TASK_LINE = /You are working on task ([A-Za-z][A-Za-z0-9]*-[0-9A-Za-z]+) of this repository's board/;

/** The write the model asks for when it reads `prompt`, or undefined when it names no task. */
export function scriptedWrite(prompt: string): ScriptedWrite | undefined {
  const id = TASK_LINE.exec(prompt)?.[1];
  if (id === undefined) return undefined;
  return { id, path: `notes/${id}.md`, content: `# ${id}\n\nWritten by the scripted model for ${id}.\n` };
}

/** The model's last words once its tool call was answered. */
export const SCRIPTED_DONE = 'Done: the note is written.';

/** An HTTP server on 127.0.0.1 (a free port), closed by `close`. */
export async function localServer(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A request's body as text. */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A folder holding a `guild-fs` command that runs this checkout's built CLI, for PATH. */
export function guildFsOnPath(dir: string): string {
  const bin = join(dir, 'guild-fs-bin');
  mkdirSync(bin, { recursive: true });
  const shim = join(bin, 'guild-fs');
  writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  chmodSync(shim, 0o755);
  return bin;
}

/** Every task on the board is Done, and its branch has the scripted model's file, committed. */
export function assertEveryTaskDoneWithItsFile(repo: { dir: string }, env: Record<string, string> = {}): ListedTask[] {
  const listed = cli(['list', '--json'], { cwd: repo.dir, env });
  const tasks = listed.json!.result.tasks as (ListedTask & { branch: string | null })[];
  assert.ok(tasks.length > 0, 'the board has tasks');
  for (const task of tasks) {
    assert.equal(task.status, 'done', `${task.id} is ${task.status}:\n${listed.stdout}`);
    const want = scriptedWrite(`You are working on task ${task.id} of this repository's board`)!;
    assert.ok(task.branch, `${task.id} has a branch`);
    const shown = execFileSync('git', ['show', `${task.branch}:${want.path}`], { cwd: repo.dir, encoding: 'utf8' });
    assert.equal(shown, want.content, `${want.path} on ${task.branch}`);
  }
  return tasks;
}

/** A scripted model server for one CLI, and the env that runs the CLI (and guild-fs) against it. */
export interface ScriptedSetup<M> {
  model: M;
  env: Record<string, string>;
}

/**
 * For a recipe test: the CLI's scripted server started in a temp folder of the test's own (closed
 * and removed after it), and PATH with the CLI's folder and a `guild-fs` command first.
 */
export async function scriptedSetup<M extends { env: Record<string, string>; close(): Promise<void> }>(t: TestContext, request: { bin: string; prefix: string; start: (dir: string) => Promise<M> }): Promise<ScriptedSetup<M>> {
  const dir = mkdtempSync(join(tmpdir(), request.prefix));
  const model = await request.start(dir);
  t.after(async () => {
    await model.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const path = [dirname(request.bin), guildFsOnPath(dir), process.env.PATH ?? ''].join(':');
  return { model, env: { ...model.env, PATH: path } };
}

/** A committed board of `tasks` under `front`, removed with its worktrees after the test. */
export function boardRepo(t: TestContext, front: string[], tasks: string[]): TempRepo {
  const repo = committedRepo(boardWith(front, tasks));
  t.after(() => repo.remove());
  return repo;
}

export function assertExitedZero(result: CliResult, what: string): void {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
}
