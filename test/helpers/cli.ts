// Runs the built CLI (bin/guild-fs.js -> dist/) as a real process, as users and agents do.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'node:test';
import { tempRepo, type TempRepo } from './repo.js';

const STREAMING = new Set(['log', 'events', 'run']);

export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'guild-fs.js');

/** A task as `list --json` prints it, the fields tests read. */
export interface ListedTask {
  id: string;
  status: string;
  owner: string | null;
  tries: number;
  retry: string | null;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when --json was given. */
  json?: { ok: boolean; result?: any; error?: { code: string; message: string; data?: any } };
}

export interface CliOptions {
  cwd: string;
  agent?: string;
  env?: Record<string, string>;
}

function childEnv(options: CliOptions): NodeJS.ProcessEnv {
  // Every CLI run in the tests re-parses each cached or derived board and fails on a difference.
  const env: NodeJS.ProcessEnv = { ...process.env, GUILD_VERIFY_CACHE: '1', ...options.env };
  delete env.GUILD_AGENT;
  delete env.GUILD_CAPS;
  if (options.agent !== undefined) env.GUILD_AGENT = options.agent;
  return { ...env, ...options.env };
}

function finish(code: number | null, stdout: string, stderr: string, args: string[]): CliResult {
  const result: CliResult = { code: code ?? -1, stdout, stderr };
  // log and events stream NDJSON with --json: many documents, parsed by the test itself.
  if (args.includes('--json') && !STREAMING.has(args[0]!)) {
    try {
      result.json = JSON.parse(stdout);
    } catch {
      throw new Error(`--json printed something that is not one JSON document:\n${stdout}\nstderr:\n${stderr}`);
    }
  }
  return result;
}

export function cli(args: string[], options: CliOptions): CliResult {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd, env: childEnv(options), encoding: 'utf8' });
  return finish(run.status, run.stdout, run.stderr, args);
}

/** The same, without blocking: for races between many processes. */
export function cliAsync(args: string[], options: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: childEnv(options) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(finish(code, stdout, stderr, args));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/**
 * Repositories with `guild-fs init --example` run in them, each removed after the test that made
 * it: `const example = examplesRemovedAfterEach();` at the top of a test file, `example()` in a test.
 */
export function examplesRemovedAfterEach(): { (): TempRepo; keep(repo: TempRepo): TempRepo } {
  let repos: TempRepo[] = [];
  afterEach(() => {
    for (const repo of repos) repo.remove();
    repos = [];
  });
  const keep = (repo: TempRepo): TempRepo => (repos.push(repo), repo);
  return Object.assign(
    (): TempRepo => {
      const repo = keep(tempRepo());
      const init = cli(['init', '--example'], { cwd: repo.dir });
      if (init.code !== 0) throw new Error(`init --example failed: ${init.stderr}`);
      return repo;
    },
    { keep },
  );
}
