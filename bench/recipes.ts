// Issue 21's figure: each recipe's overhead.
//   22a.. For each agent CLI whose recipe is tested (the pinned CLIs of scripts/test-tools/agents,
//        each against its scripted model server on 127.0.0.1, test/helpers/model-*.ts): the
//        README's recipe line through `guild-fs run` (with `-j 1`), per task, against the same CLI
//        run by hand on the same tasks: a worktree made with `git worktree add -b`, the CLI run
//        there with the prompt guild-fs would give it on stdin, then `git add -A` and `git commit`.
//        Goal: at most 1.3x.
// The scripted model answers at once, so what is measured is everything but the model: the CLI's
// own start and its tool call, and around it guild-fs's claim, worktree, prompt, commit and
// completion. A CLI missing from the cache is reported as not measured. Run alone:
// `npm run build && npx tsx bench/recipes.ts [--quick]`.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseBoard } from '../src/board/parse-board.js';
import { describeEarlierTries, describeNeeds, loadPromptTemplate, renderPrompt, taskBody } from '../src/runner/prompt.js';
import { startScriptedClaude } from '../test/helpers/model-anthropic.js';
import { startScriptedGemini } from '../test/helpers/model-gemini.js';
import { startScriptedCodex } from '../test/helpers/model-openai.js';
import { readmeRecipe, type Recipe } from '../test/helpers/readme-recipes.js';
import { agentCliBin, type AgentCli } from '../test/helpers/test-tools.js';
import { benchEnv, readyBoardRepo, sh, type BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { median, pairedRatios } from './stats.js';
import { isMain, runStandalone } from './standalone.js';

const TARGET = 1.3;

/** A CLI whose recipe is measured: how to start its scripted model. */
interface ScriptedCli {
  cli: AgentCli;
  name: string;
  start(dir: string): Promise<{ env: Record<string, string>; close(): Promise<void> }>;
}

const CLIS: ScriptedCli[] = [
  { cli: 'claude', name: 'Claude Code', start: startScriptedClaude },
  { cli: 'codex', name: 'Codex', start: startScriptedCodex },
  { cli: 'gemini', name: 'Gemini CLI', start: (dir) => startScriptedGemini(dir) },
];

/**
 * Runs a command to its end, throwing unless it exits 0. Never spawnSync: the scripted model
 * server answers from this process's event loop, which a synchronous spawn would block.
 */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string }, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stdin.end(options.input ?? '');
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${what} exited ${code ?? signal}:\n${output}`))));
  });
}

/** The recipe through `guild-fs run`, one worker: ms per task. */
async function throughRun(options: BenchOptions, dir: string, recipe: Recipe, tasks: number, env: NodeJS.ProcessEnv): Promise<number> {
  const args = recipe.runArgs.slice();
  const j = args.indexOf('-j');
  if (j >= 0) args[j + 1] = '1';
  const start = process.hrtime.bigint();
  await run(process.execPath, [options.bin, ...args], { cwd: dir, env }, recipe.text);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const listed = JSON.parse(sh(process.execPath, [options.bin, 'list', '--json'], dir, env)).result.tasks as { status: string }[];
  if (listed.some((task) => task.status !== 'done')) throw new Error(`${recipe.text}: not every task is done`);
  return ms / tasks;
}

/** The same CLI by hand on the same tasks and prompts: ms per task. */
async function byHand(dir: string, recipe: Recipe, tasks: number, env: NodeJS.ProcessEnv): Promise<number> {
  const board = await parseBoard('ACTIVE_TASKS.md', sh('git', ['show', 'HEAD:ACTIVE_TASKS.md'], dir, env));
  const template = loadPromptTemplate(dir).text;
  const argv = recipe.words.slice(recipe.words.indexOf('--') + 1);
  const start = process.hrtime.bigint();
  for (let i = 1; i <= tasks; i++) {
    const task = board.byId.get(`GLD-${i}`)!;
    const worktree = join(`${dir}.worktrees`, task.id!);
    const branch = `hand/${task.id}`;
    sh('git', ['worktree', 'add', '-q', '-b', branch, worktree], dir, env);
    const prompt = renderPrompt(template, { id: task.id!, title: task.title, body: taskBody(board, task), worktree, branch, try: 1, needs: describeNeeds(board, task), earlier_tries: describeEarlierTries(join(dir, '.guild', 'audit.jsonl'), task.id!) });
    await run(argv[0]!, argv.slice(1), { cwd: worktree, env, input: prompt }, `${argv[0]} by hand`);
    sh('git', ['add', '-A'], worktree, env);
    sh('git', ['commit', '-qm', task.title], worktree, env);
  }
  return Number(process.hrtime.bigint() - start) / 1e6 / tasks;
}

export async function recipesBench(options: BenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const tasks = options.quick ? 2 : 4;
  const rounds = options.quick ? 1 : 3;
  const rows: FigureRow[] = [];
  const skipped: string[] = [];
  for (const [i, scripted] of CLIS.entries()) {
    const bin = agentCliBin(scripted.cli);
    const figure = `22${String.fromCharCode(97 + i)}. the ${scripted.name} recipe through \`guild-fs run\`, per task, vs the CLI run by hand in a worktree on the same prompt`;
    if (bin === undefined) {
      skipped.push(scripted.name);
      rows.push({ figure, unit: 'ms/task', subject: [], baseline: [], target: `<= ${TARGET}x`, met: false, digits: 0, show: { subject: 'not measured', baseline: 'not measured', ratio: '-', met: 'not measured (run scripts/test-tools/install.sh)' } });
      continue;
    }
    const dir = join(options.tmpRoot, `recipe-${scripted.cli}`);
    mkdirSync(dir, { recursive: true });
    const server = await scripted.start(join(dir, 'model'));
    try {
      const env = benchEnv({ ...server.env, PATH: `${dirname(bin)}:${process.env.PATH}` });
      delete env.GUILD_AGENT;
      const recipe = readmeRecipe(scripted.cli);
      const viaRun: number[] = [];
      const hand: number[] = [];
      options.log(`recipes: ${scripted.name}, ${rounds} round(s) of ${tasks} tasks through guild-fs run and by hand`);
      for (let round = 0; round < rounds; round++) {
        // Alternating which goes first: a warm disk cache or CLI favours neither.
        const order = round % 2 === 0 ? ['run', 'hand'] : ['hand', 'run'];
        for (const which of order) {
          const repo = join(dir, `${which}-${round}`);
          readyBoardRepo(repo, { bin: options.bin, tasks, env });
          if (which === 'run') viaRun.push(await throughRun(options, repo, recipe, tasks, env));
          else hand.push(await byHand(repo, recipe, tasks, env));
          rmSync(repo, { recursive: true, force: true });
          rmSync(`${repo}.worktrees`, { recursive: true, force: true });
        }
      }
      rows.push({ figure, unit: 'ms/task', subject: viaRun, baseline: hand, paired: pairedRatios(viaRun, hand), target: `<= ${TARGET}x`, met: median(viaRun) / median(hand) <= TARGET, digits: 0 });
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const method = `**22. Each recipe's overhead.** For each agent CLI whose recipe is tested (the pinned CLIs of \`scripts/test-tools/agents\`), against its scripted model server on 127.0.0.1 (\`test/helpers/model-*.ts\`, which answers at once: what is measured is everything but the model): the README's recipe line through \`guild-fs run\` with \`-j 1\` on a board of ${tasks} tasks, per task, against the same CLI run by hand on the same tasks (a worktree by \`git worktree add -b\`, the CLI there with the prompt guild-fs would give it on stdin, then \`git add -A\` and \`git commit\`). ${rounds} round(s), alternating which goes first; medians and the median of the rounds' ratios.${skipped.length ? ` Not measured (CLI not installed): ${skipped.join(', ')}.` : ''}`;
  return { rows, method };
}

if (isMain(import.meta.url)) await runStandalone('recipes', recipesBench);
