// The README's Gemini CLI recipe, verbatim, through `guild-fs run` with the real Gemini CLI
// (pinned in scripts/test-tools/agents) against a scripted Gemini API on 127.0.0.1
// (helpers/model-gemini.ts): every task must end Done with the note the scripted model had Gemini
// CLI's own write_file tool write, committed on its branch. Without the pinned CLI this file skips
// locally and FAILS under CI=true.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { cliAsync, type CliResult } from './helpers/cli.js';
import { boardWith, committedRepo } from './helpers/git-repo.js';
import { startScriptedGemini, type ScriptedGeminiOptions } from './helpers/model-gemini.js';
import { readmeRecipe } from './helpers/readme-recipes.js';
import { readLog, type TempRepo } from './helpers/repo.js';
import { assertEveryTaskDoneWithItsFile, guildFsOnPath } from './helpers/scripted-model.js';
import { agentCliBin, toolsMissing } from './helpers/test-tools.js';

const GEMINI = agentCliBin('gemini');
const skip = toolsMissing('the pinned Gemini CLI', GEMINI === undefined ? ['gemini'] : []);

const TASKS = ['- [ ] GLD-1 Write the first note', '- [ ] GLD-2 Write the second note needs:GLD-1', '- [ ] GLD-3 Write the third note', '- [ ] GLD-4 Write the fourth note'];

interface RecipeRun {
  repo: TempRepo;
  run: CliResult;
  requests: number;
}

/** A run: its board (`ready` tasks, `front` matter), and a word of the README line to leave out. */
interface RecipeSetup {
  front?: string[];
  ready: string[];
  drop?: string;
}

/** The README's Gemini line in a fresh repo, the scripted server answering as `options` say. */
async function runRecipe(setup: RecipeSetup, options: ScriptedGeminiOptions = {}): Promise<RecipeRun & { cleanup(): void }> {
  const repo = committedRepo(boardWith(setup.front ?? [], setup.ready));
  const dir = mkdtempSync(join(tmpdir(), 'guild-fs-gemini-'));
  const cleanup = (): void => {
    repo.remove();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const server = await startScriptedGemini(dir, options);
    try {
      const PATH = [dirname(GEMINI!), guildFsOnPath(dir), process.env.PATH ?? ''].join(delimiter);
      const args = readmeRecipe('gemini').runArgs.filter((word) => word !== setup.drop);
      // NO_COLOR empty: Gemini CLI colours its fatal errors unless NO_COLOR is set, whatever the terminal.
      const run = await cliAsync(args, { cwd: repo.dir, env: { ...server.env, PATH, NO_COLOR: '' } });
      return { repo, run, requests: server.requests(), cleanup };
    } finally {
      await server.close();
    }
  } catch (error) {
    cleanup();
    throw error;
  }
}

describe('the README recipe for Gemini CLI, run by guild-fs run', { skip }, () => {
  test('every task ends Done, with the note the scripted model asked for committed on its branch', async () => {
    const recipe = await runRecipe({ ready: TASKS });
    try {
      assert.equal(recipe.run.code, 0, `${recipe.run.stdout}\n${recipe.run.stderr}`);
      assert.ok(recipe.requests > 0, 'Gemini CLI asked the scripted server');
      assertEveryTaskDoneWithItsFile(recipe.repo);
    } finally {
      recipe.cleanup();
    }
  });

  // What a run does today when Gemini CLI cannot work: it prints its error (in red, or as a Node
  // dump of the error object, the HTTP status in it) and exits non-zero; each task fails (one try
  // each here, so the run ends at once) with those last lines in its reason, as plain text. The
  // strings are what a breaker would have to recognise.
  const FAILURES: { what: string; drop?: string; failWith?: number; status: number; says: RegExp[]; red?: boolean }[] = [
    { what: 'the line without --skip-trust (a new worktree is not a trusted folder)', drop: '--skip-trust', status: 55, says: [/Gemini CLI is not running in a trusted directory/], red: true },
    { what: 'a model API that answers 401 to everything', failWith: 401, status: 1, says: [/status: 401/, /An unexpected critical error occurred/] },
    { what: 'a model API that answers 429 (a spent daily quota) to everything', failWith: 429, status: 1, says: [/status: 429/, /You exceeded your current quota/, /An unexpected critical error occurred/] },
  ];
  for (const failure of FAILURES) {
    test(`${failure.what}: each task fails with Gemini CLI's exit ${failure.status} and its words, colours stripped`, async () => {
      const recipe = await runRecipe({ front: ['max_tries: 1'], ready: TASKS.slice(2), drop: failure.drop }, { failWith: failure.failWith });
      try {
        assert.equal(recipe.run.code, 6, `${recipe.run.stdout}\n${recipe.run.stderr}`);
        if (failure.failWith !== undefined) assert.ok(recipe.requests > 0, 'Gemini CLI asked the scripted server');
        const failed = readLog(recipe.repo).filter((event) => event.type === 'task.failed');
        assert.equal(failed.length, 2, JSON.stringify(failed));
        for (const event of failed) {
          const reason = String((event.data as { reason?: unknown }).reason);
          assert.match(reason, new RegExp(`^the agent exited with status ${failure.status}\n`), reason);
          for (const says of failure.says) assert.match(reason, says, reason);
          assert.doesNotMatch(reason, /\x1b/, 'no terminal controls in a stored reason');
          // ...while the try's run log keeps the output as Gemini CLI printed it, red and all.
          if (failure.red) assert.match(readFileSync(join(recipe.repo.dir, '.git', 'guild', 'runs', String(event.task), '1.log'), 'utf8'), /\x1b\[31mGemini CLI is not running/);
        }
      } finally {
        recipe.cleanup();
      }
    });
  }
});
