// The README's Gemini CLI recipe, verbatim, through `guild-fs run` with the real Gemini CLI
// (pinned in scripts/test-tools/agents) against a scripted Gemini API on 127.0.0.1
// (helpers/model-gemini.ts): every task must end Done with the note the scripted model had Gemini
// CLI's own write_file tool write, committed on its branch. Without the pinned CLI this file skips
// locally and FAILS under CI=true. Also what Gemini CLI does when it cannot work: a folder it does
// not trust fails the try; a key refused (401) or a spent quota (429) opens the runner's breaker.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliAsync, type CliResult } from './helpers/cli.js';
import { startScriptedGemini, type ScriptedGeminiOptions } from './helpers/model-gemini.js';
import { readmeRecipe } from './helpers/readme-recipes.js';
import { readLog, type TempRepo } from './helpers/repo.js';
import { assertEveryTaskDoneWithItsFile, boardRepo, scriptedSetup } from './helpers/scripted-model.js';
import { agentCliBin, toolsMissing } from './helpers/test-tools.js';

const GEMINI = agentCliBin('gemini');
const skip = toolsMissing('the pinned Gemini CLI', GEMINI === undefined ? ['gemini'] : []);

const TASKS = ['- [ ] GLD-1 Write the first note', '- [ ] GLD-2 Write the second note needs:GLD-1', '- [ ] GLD-3 Write the third note', '- [ ] GLD-4 Write the fourth note'];

interface RecipeRun {
  repo: TempRepo;
  run: CliResult;
  requests: number;
}

/** A run: its board (`ready` tasks, `front` matter), a word of the README line to leave out, run options to add. */
interface RecipeSetup {
  front?: string[];
  ready: string[];
  drop?: string;
  add?: string[];
}

/** The README's Gemini line in a fresh repo, the scripted server answering as `options` say; both removed after the test. */
async function runRecipe(t: TestContext, setup: RecipeSetup, options: ScriptedGeminiOptions = {}): Promise<RecipeRun> {
  const { model, env } = await scriptedSetup(t, { bin: GEMINI!, prefix: 'guild-fs-gemini-', start: (dir) => startScriptedGemini(dir, options) });
  const repo = boardRepo(t, setup.front ?? [], setup.ready);
  const args = readmeRecipe('gemini').runArgs.filter((word) => word !== setup.drop);
  // Options of guild-fs run go before the `--` that starts Gemini CLI's own words.
  args.splice(args.indexOf('--'), 0, ...(setup.add ?? []));
  // NO_COLOR empty: Gemini CLI colours its fatal errors unless NO_COLOR is set, whatever the terminal.
  const run = await cliAsync(args, { cwd: repo.dir, env: { ...env, NO_COLOR: '' } });
  return { repo, run, requests: model.requests() };
}

describe('the README recipe for Gemini CLI, run by guild-fs run', { skip }, () => {
  test('every task ends Done, with the note the scripted model asked for committed on its branch', async (t) => {
    const recipe = await runRecipe(t, { ready: TASKS });
    assert.equal(recipe.run.code, 0, `${recipe.run.stdout}\n${recipe.run.stderr}`);
    assert.ok(recipe.requests > 0, 'Gemini CLI asked the scripted server');
    assertEveryTaskDoneWithItsFile(recipe.repo);
  });

  // A Gemini CLI that cannot work prints its error (in red, or as a Node dump of the error object,
  // the HTTP status in it) and exits non-zero. A folder it does not trust is the task's try
  // failing, its words in the reason as plain text:
  test('the line without --skip-trust (a new worktree is not a trusted folder): each task fails with Gemini CLI\'s exit 55 and its words, colours stripped', async (t) => {
    const recipe = await runRecipe(t, { front: ['max_tries: 1'], ready: TASKS.slice(2), drop: '--skip-trust' });
    assert.equal(recipe.run.code, 6, `${recipe.run.stdout}\n${recipe.run.stderr}`);
    const failed = readLog(recipe.repo).filter((event) => event.type === 'task.failed');
    assert.equal(failed.length, 2, JSON.stringify(failed));
    for (const event of failed) {
      const reason = String((event.data as { reason?: unknown }).reason);
      assert.match(reason, /^the agent exited with status 55\n/, reason);
      assert.match(reason, /Gemini CLI is not running in a trusted directory/, reason);
      assert.doesNotMatch(reason, /\x1b/, 'no terminal controls in a stored reason');
      // ...while the try's run log keeps the output as Gemini CLI printed it, red and all.
      assert.match(readFileSync(join(recipe.repo.dir, '.git', 'guild', 'runs', String(event.task), '1.log'), 'utf8'), /\x1b\[31mGemini CLI is not running/);
    }
  });

  // An API that refuses the key or says the quota is spent is the agent CLI broken, not the
  // tasks: the breaker (SPEC 8) opens on Gemini CLI's own words, the tries are given back, no
  // task goes to Failed or spends a try, and with --no-wait the run ends with exit 8.
  const UNAVAILABLE: { what: string; failWith: number; says: RegExp }[] = [
    { what: 'a model API that answers 401 to everything', failWith: 401, says: /401|unauthenticated/i },
    { what: 'a model API that answers 429 (a spent daily quota) to everything', failWith: 429, says: /quota|429/i },
  ];
  for (const broken of UNAVAILABLE) {
    test(`${broken.what}: the breaker opens, the tries are given back, nothing Failed; --no-wait exits 8`, async (t) => {
      const recipe = await runRecipe(t, { front: ['max_tries: 1'], ready: TASKS.slice(2), add: ['--no-wait'] }, { failWith: broken.failWith });
      assert.equal(recipe.run.code, 8, `${recipe.run.stdout}\n${recipe.run.stderr}`);
      assert.ok(recipe.requests > 0, 'Gemini CLI asked the scripted server');
      const log = readLog(recipe.repo);
      assert.deepEqual(log.filter((event) => event.type === 'task.failed'), [], 'no try counted as the task\'s failure');
      const released = log.filter((event) => event.type === 'task.released');
      assert.ok(released.length >= 1, JSON.stringify(log.map((event) => event.type)));
      for (const event of released) {
        const reason = String((event.data as { reason?: unknown }).reason);
        assert.match(reason, /^agent unavailable: /, reason);
        assert.match(reason, broken.says, reason);
        assert.doesNotMatch(reason, /\x1b/, 'no terminal controls in a stored reason');
      }
      assert.match(recipe.run.stderr, /run: agent gemini .*unavailable: .*not waiting \(--no-wait\)/, recipe.run.stderr);
      const board = recipe.repo.read();
      assert.doesNotMatch(board, / tries:\d|## Failed\n-/, board);
    });
  }
});
