// The README's Codex lines run against the real Codex CLI (the pinned @openai/codex of
// scripts/test-tools/agents), pointed at a scripted Responses API on 127.0.0.1: the recipe line
// verbatim through `guild-fs run`, the `agents:` example's codex profile through `run --profile`,
// and the `codex mcp add` line, after which Codex lists the server and offers its tools to the model.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cli, cliAsync } from './helpers/cli.js';
import { startScriptedCodex } from './helpers/model-openai.js';
import { readmeAgentsExample, readmeMcpLines, readmeRecipe } from './helpers/readme-recipes.js';
import { worktreePath } from './helpers/repo.js';
import { assertEveryTaskDoneWithItsFile, assertExitedZero, boardRepo, scriptedSetup } from './helpers/scripted-model.js';
import { agentCliBin, toolsMissing } from './helpers/test-tools.js';
import { TOOL_NAMES } from '../src/mcp/tool-list.js';

const CODEX = agentCliBin('codex');
const skip = toolsMissing('Codex CLI (scripts/test-tools/agents)', CODEX ? [] : ['@openai/codex']);

/** Codex against its scripted server, with the PATH a person's shell would give it. */
const harness = (t: TestContext) => scriptedSetup(t, { bin: CODEX!, prefix: 'guild-fs-codex-', start: startScriptedCodex });

describe('the README\'s Codex lines, with the real Codex CLI', { skip, concurrency: false, timeout: 240_000 }, () => {
  test('the recipe line, verbatim: every task Done with the file Codex wrote, committed on its branch', async (t) => {
    const recipe = readmeRecipe('codex');
    assert.ok(recipe.runArgs.includes('--timeout'), `the Codex recipe bounds a try (Codex retries an unreachable model without end): ${recipe.text}`);
    const { model, env } = await harness(t);
    const repo = boardRepo(t, [], [
      '- [ ] GLD-1 Write the first note',
      '- [ ] GLD-2 Write the second note',
      '- [ ] GLD-3 Write the third note',
      '- [ ] GLD-4 Write the note after the first needs:GLD-1',
    ]);
    assertExitedZero(await cliAsync(recipe.runArgs, { cwd: repo.dir, env }), recipe.text);
    assert.equal(assertEveryTaskDoneWithItsFile(repo, env).length, 4);
    assert.ok(model.requests() > 0, 'Codex asked the scripted model');
  });

  test('the recipe line with a short --timeout, the model unreachable: the try ends at the timeout, its Codex killed', async (t) => {
    // Codex 0.171.0 does not give up on a model it cannot reach (its unbounded_connection_retries
    // feature, on by default: "Reconnecting... waiting for network", still at it after 15 minutes
    // here): only the runner's --timeout ends such a try.
    const recipe = readmeRecipe('codex');
    const args = recipe.runArgs.map((word, at) => (recipe.runArgs[at - 1] === '--timeout' ? '3s' : word));
    const { model, env } = await harness(t);
    await model.close();
    const repo = boardRepo(t, ['max_tries: 1'], ['- [ ] GLD-1 A note nobody will write']);
    const run = await cliAsync([...args.slice(0, 1), '--json', ...args.slice(1)], { cwd: repo.dir, env });
    assert.equal(run.code, 6, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    const failed = run.stdout.trim().split('\n').map((line) => JSON.parse(line)).find((event) => event.event === 'task.failed');
    assert.match(failed?.reason ?? '', /timed out after 3s/, run.stdout);
    assert.deepEqual(processesIn(worktreePath(repo, 'GLD-1')), [], 'no Codex process outlives its try');
    assert.ok(existsSync(worktreePath(repo, 'GLD-1')), 'the worktree looked in is there');
  });

  test('the agents: example, its codex profile: trusted, then run --profile codex drains the backend tasks', async (t) => {
    const { model, env } = await harness(t);
    const front = readmeAgentsExample().trimEnd().split('\n');
    const repo = boardRepo(t, front, [
      '- [ ] GLD-1 The API note caps:backend',
      '- [ ] GLD-2 The schema note caps:backend needs:GLD-1',
    ]);
    assertExitedZero(cli(['trust'], { cwd: repo.dir, env }), 'guild-fs trust');
    assertExitedZero(await cliAsync(['run', '--profile', 'codex'], { cwd: repo.dir, env }), 'guild-fs run --profile codex');
    assert.equal(assertEveryTaskDoneWithItsFile(repo, env).length, 2);
    assert.ok(model.requests() > 0, 'Codex asked the scripted model');
  });

  test('the codex mcp add line, verbatim: Codex lists guild-fs, starts it and offers the model its eight tools', async (t) => {
    const lines = readmeMcpLines().filter((line) => line.words[0] === 'codex');
    assert.equal(lines.length, 1, 'one codex mcp add line in the README');
    const [command, ...args] = lines[0]!.words;
    const { model, env } = await harness(t);
    const repo = boardRepo(t, [], ['- [ ] GLD-1 A task for the host']);
    const options = { cwd: repo.dir, env: { ...process.env, ...env }, encoding: 'utf8' as const };
    const added = spawnSync(command!, args, options);
    assert.equal(added.status, 0, `${lines[0]!.text}\n${added.stderr}`);

    const got = spawnSync('codex', ['mcp', 'get', 'guild-fs', '--json'], options);
    assert.equal(got.status, 0, got.stderr);
    const server = JSON.parse(got.stdout) as { enabled: boolean; transport: { type: string; command: string; args: string[]; env: Record<string, string> } };
    assert.equal(server.enabled, true);
    assert.deepEqual(server.transport, { ...server.transport, type: 'stdio', command: 'guild-fs', args: ['mcp'], env: { GUILD_AGENT: 'codex' } });

    // `codex mcp list` says only what is configured; a session shows that the server starts and
    // lists its tools: Codex offers them to the model as the namespace mcp__guild_fs.
    const session = await codexExec(repo.dir, options.env, 'Which tools do you have?');
    assert.equal(session.code, 0, session.output);
    const offered = model.toolsOffered().filter((name) => name.startsWith('mcp__guild_fs.')).sort();
    assert.deepEqual(offered, TOOL_NAMES.map((name) => `mcp__guild_fs.${name}`).sort(), session.output);
  });
});

/** `codex exec` on `prompt` (stdin) in `cwd`, not blocking this process: the scripted server runs in it. */
function codexExec(cwd: string, env: NodeJS.ProcessEnv, prompt: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('codex', ['exec', '--sandbox', 'workspace-write', '-'], { cwd, env });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(prompt);
  });
}

/** The pids of the processes whose working directory is `dir` (Linux /proc; none where there is no /proc). */
function processesIn(dir: string): number[] {
  if (!existsSync('/proc/self/cwd') || !existsSync(dir)) return [];
  const real = realpathSync(dir);
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === real) pids.push(Number(entry));
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return pids;
}
