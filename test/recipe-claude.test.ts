// The README's Claude Code lines, run as written against the real, pinned Claude Code
// (scripts/test-tools/agents) pointed at a scripted Messages API server on 127.0.0.1: the recipe
// line through `guild-fs run`, the `claude:` profile of the `agents:` example through
// `guild-fs run --profile claude`, and the `claude mcp add` line followed by `claude mcp list`.
// Each ends with what a person would check: every task Done with the file the model asked for on
// its branch, or guild-fs connected. No network: what Claude Code would send elsewhere is
// switched off, and the server (its proxy too) records any host it still tried.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cli, cliAsync, type CliResult } from './helpers/cli.js';
import { GUILD_FS_READY_TOOL, SCRIPTED_MCP_PROMPT, startScriptedClaude, type ScriptedClaude } from './helpers/model-anthropic.js';
import { readmeAgentsExample, readmeMcpLines, readmeRecipe } from './helpers/readme-recipes.js';
import { assertEveryTaskDoneWithItsFile, assertExitedZero, boardRepo, scriptedSetup } from './helpers/scripted-model.js';
import { agentCliBin, toolsMissing } from './helpers/test-tools.js';

const CLAUDE = agentCliBin('claude');
const skip = toolsMissing('Claude Code 2.1.197 (scripts/test-tools/agents)', CLAUDE ? [] : ['claude']);

/** The scripted server, Claude Code and guild-fs on PATH, all under one temp folder of the test's. */
const setup = (t: TestContext) => scriptedSetup(t, { bin: CLAUDE!, prefix: 'guild-fs-claude-', start: startScriptedClaude });

/** The server answered Claude Code, and Claude Code tried no other host. */
function assertOnlyTheScriptedServer(claude: ScriptedClaude): void {
  assert.ok(claude.requests() > 0, 'Claude Code asked the scripted server');
  assert.deepEqual(claude.strays(), [], 'no traffic to any other host');
}

/** A README line whose first word is a command on PATH, run without a shell (words as written). */
function runLine(words: string[], options: { cwd: string; env: Record<string, string> }): Promise<CliResult> {
  // As cli.ts does for guild-fs: no agent name or caps from whoever runs the tests.
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.GUILD_AGENT;
  delete env.GUILD_CAPS;
  return new Promise((resolve, reject) => {
    const child = spawn(words[0]!, words.slice(1), { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

// Four tasks, the last waiting on the first, so one worker's task starts only after another's is Done.
const TASKS = ['- [ ] GLD-1 Write the first note', '- [ ] GLD-2 Write the second note', '- [ ] GLD-3 Write the third note', '- [ ] GLD-4 Write the last note needs:GLD-1'];

describe('the README\'s Claude Code lines, against the real CLI', { skip }, () => {
  test('the recipe line, verbatim: every task Done with its note committed on its branch', { timeout: 120_000 }, async (t) => {
    const { model: claude, env } = await setup(t);
    const repo = boardRepo(t, [], TASKS);
    const recipe = readmeRecipe('claude');
    const run = await cliAsync(recipe.runArgs, { cwd: repo.dir, env });
    assertExitedZero(run, recipe.text);
    assertEveryTaskDoneWithItsFile(repo);
    assertOnlyTheScriptedServer(claude);
  });

  test('the agents: example\'s claude profile: trusted, then run --profile claude drains the tasks its caps take', { timeout: 120_000 }, async (t) => {
    const { model: claude, env } = await setup(t);
    const front = readmeAgentsExample().trimEnd().split('\n');
    const caps = ['caps:frontend', 'caps:docs', 'caps:frontend', 'caps:docs'];
    const repo = boardRepo(t, front, TASKS.map((task, i) => `${task} ${caps[i]}`));
    assertExitedZero(cli(['trust'], { cwd: repo.dir }), 'guild-fs trust');
    const run = await cliAsync(['run', '--profile', 'claude'], { cwd: repo.dir, env });
    assertExitedZero(run, 'guild-fs run --profile claude');
    assertEveryTaskDoneWithItsFile(repo);
    assertOnlyTheScriptedServer(claude);
  });

  test('claude mcp add, verbatim, then claude mcp list: guild-fs connected; and its ready tool answers through claude -p', { timeout: 120_000 }, async (t) => {
    const { model: claude, env } = await setup(t);
    const repo = boardRepo(t, [], TASKS);
    const [add] = readmeMcpLines().filter((line) => line.words[0] === 'claude');
    assert.ok(add, 'the README has a claude mcp add line');
    assertExitedZero(await runLine(add.words, { cwd: repo.dir, env }), add.text);
    const list = await runLine(['claude', 'mcp', 'list'], { cwd: repo.dir, env });
    assertExitedZero(list, 'claude mcp list');
    // e.g. "guild-fs: guild-fs mcp - ✓ Connected"
    const line = list.stdout.split('\n').find((text) => text.startsWith('guild-fs:'));
    assert.ok(line, `claude mcp list names guild-fs:\n${list.stdout}`);
    assert.match(line, /\bConnected\b/, line);
    assert.doesNotMatch(line, /Failed|Needs/i, line);

    // And its tools work through Claude Code: one print-mode turn whose model calls `ready`
    // (the prompt before --allowedTools, which takes every word after it).
    const turn = await runLine(['claude', '-p', SCRIPTED_MCP_PROMPT, '--allowedTools', GUILD_FS_READY_TOOL], { cwd: repo.dir, env });
    assertExitedZero(turn, 'claude -p calling the guild-fs ready tool');
    const results = claude.toolResults();
    assert.equal(results.length, 1, `one tool result: ${JSON.stringify(results)}`);
    for (const id of ['GLD-1', 'GLD-2', 'GLD-3']) assert.ok(results[0]!.includes(`"${id}"`), `ready lists ${id}: ${results[0]}`);
    assert.ok(!results[0]!.includes('"GLD-4"'), `GLD-4 waits on GLD-1: ${results[0]}`);
    assertOnlyTheScriptedServer(claude);
  });
});
