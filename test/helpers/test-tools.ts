// Where the heavy test-only tools are: each set of scripts/test-tools/<set>/ is installed by
// scripts/test-tools/install.sh into a per-user cache folder named for the hash of its
// package.json and lockfile (the same rule as the script's, so a changed set is never served an
// old install). A test that
// needs a set skips locally when it is missing and FAILS under CI=true (see `toolsMissing`), so a
// CI machine that could not install them never passes silently.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';

export const TEST_TOOLS_SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'test-tools');

export type ToolSet = 'graph' | 'agents';
/** The agent CLIs the recipe tests run, as scripts/test-tools/agents pins them. */
export type AgentCli = 'claude' | 'codex' | 'gemini';

function cacheRoot(): string {
  if (process.env.GUILD_TEST_TOOLS) return process.env.GUILD_TEST_TOOLS;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'guild-fs-test-tools');
}

/** The folder set `set` is installed in (whether or not it is there yet). */
export function toolSetDir(set: ToolSet): string {
  const hash = createHash('sha256');
  for (const file of ['package.json', 'package-lock.json']) hash.update(readFileSync(join(TEST_TOOLS_SOURCE, set, file)));
  return join(cacheRoot(), `${set}-${hash.digest('hex').slice(0, 12)}`);
}

/** The path of a binary of set `set` (node_modules/.bin/NAME), or undefined when not installed. */
export function toolBin(set: ToolSet, name: string): string | undefined {
  const dir = toolSetDir(set);
  const bin = join(dir, 'node_modules', '.bin', name);
  return existsSync(join(dir, '.installed')) && existsSync(bin) ? bin : undefined;
}

/** A pinned agent CLI's executable, or undefined when the agents set is not installed. */
export function agentCliBin(cli: AgentCli): string | undefined {
  return toolBin('agents', cli);
}

/**
 * The `skip` value for a file's tests: false when nothing is missing, else the reason. Under
 * CI=true a missing tool is a failing test instead, named for what is missing.
 */
export function toolsMissing(what: string, missing: string[]): string | false {
  if (missing.length === 0) return false;
  const why = `${what} missing: ${missing.join(', ')}; run scripts/test-tools/install.sh`;
  if (process.env.CI === 'true') test(`${what} installed (CI)`, () => assert.fail(why));
  return why;
}
