// The one command table. Each command's module is imported only when it runs, so that `claim`
// never pays for what `show` or a later `watch` needs.
import yargs from 'yargs/yargs';
import type { Argv } from 'yargs';
import { PRIORITIES, STATUSES } from '../board/types.js';
import { GuildError, UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import { makeContext, type Context, type GlobalArgs } from './context.js';
import { printError, printResult } from './output.js';

interface CommandModule {
  run(args: never, ctx: Context): Promise<unknown>;
  render(result: never): string;
  /** For checks: the error (and exit code) a result stands for, printed after the report. */
  failure?(result: never): GuildError | undefined;
  /** The command prints its own output as it goes (NDJSON with --json), not one document. */
  streams?: boolean;
  /** A change of state: the message of the commit `commit: true` in the front matter asks for (null: none). */
  commitMessage?(result: never): string | null;
  /** A streaming command's exit code, from its result (its report is already printed). */
  exitCode?(result: never): number;
}

const commands: Record<string, () => Promise<CommandModule>> = {
  init: () => import('./commands/init.js'),
  add: () => import('./commands/add.js'),
  list: () => import('./commands/list.js'),
  ready: () => import('./commands/ready.js'),
  next: () => import('./commands/next.js'),
  claim: () => import('./commands/claim.js'),
  complete: () => import('./commands/complete.js'),
  fail: () => import('./commands/fail.js'),
  release: () => import('./commands/release.js'),
  heartbeat: () => import('./commands/heartbeat.js'),
  show: () => import('./commands/show.js'),
  output: () => import('./commands/output.js'),
  locks: () => import('./commands/locks.js'),
  heal: () => import('./commands/heal.js'),
  doctor: () => import('./commands/doctor.js'),
  replay: () => import('./commands/replay.js'),
  log: () => import('./commands/log.js'),
  sync: () => import('./commands/sync.js'),
  stats: () => import('./commands/stats.js'),
  watch: () => import('./commands/watch.js'),
  events: () => import('./commands/events.js'),
  status: () => import('./commands/status.js'),
  worktree: () => import('./commands/worktree.js'),
  conflicts: () => import('./commands/conflicts.js'),
  trust: () => import('./commands/trust.js'),
  run: () => import('./commands/run.js'),
  mcp: () => import('./commands/mcp.js'),
  prime: () => import('./commands/prime.js'),
  graph: () => import('./commands/graph.js'),
  'merge-driver': () => import('./commands/merge-driver.js'),
};

let exitCode = 0;



async function dispatch(name: string, args: GlobalArgs & Record<string, unknown>): Promise<void> {
  const ctx = makeContext(args);
  try {
    const command = await commands[name]!();
    const result = await command.run(args as never, ctx);
    const failed = command.failure?.(result as never);
    if (failed) {
      // The report still goes to stdout for people; --json gets the error envelope, which carries it.
      if (!ctx.json) printResult(result, command.render(result as never), ctx);
      exitCode = printError(failed, ctx);
      return;
    }
    const message = command.commitMessage?.(result as never);
    if (message) await autoCommit(ctx, message);
    if (command.exitCode) exitCode = command.exitCode(result as never);
    if (command.streams) for (const note of ctx.notes) process.stderr.write(`${note}\n`);
    else printResult(result, ctx.json ? '' : command.render(result as never), ctx);
  } catch (error) {
    for (const note of ctx.notes) process.stderr.write(`${note}\n`);
    exitCode = printError(error, ctx);
  }
}

/** `commit: true`: the change is done and stands; a commit that fails is said on stderr, not an error. */
async function autoCommit(ctx: Context, message: string): Promise<void> {
  const { autoCommitIfEnabled } = await import('../workspace/auto-commit.js');
  try {
    const made = await autoCommitIfEnabled(ctx.guild(), message);
    if (made && made.commit === null && made.reason !== 'nothing changed') ctx.notes.push(`commit: true, but nothing was committed: ${made.reason}`);
  } catch (error) {
    ctx.notes.push(`commit: true, but the commit failed: ${(error as Error).message}`);
  }
}

const taskId = (y: Argv, required: boolean, what: string) => y.positional('id', { type: 'string', describe: what, demandOption: required });
const capsOption = { type: 'string', describe: 'the agent\'s capabilities, comma-separated (default: GUILD_CAPS; none given: no filter)' } as const;

export function buildParser(argv: string[]): Argv {
  return yargs(argv)
    .scriptName('guild-fs')
    // What follows `--` is kept apart in argv['--'], so that `add -- "-x title"` can take it as the title.
    .parserConfiguration({ 'populate--': true })
    .usage('$0 <command> [options]\n\nShare the work of one git repository between agents and people, through ACTIVE_TASKS.md and an audit log.')
    .option('json', { type: 'boolean', describe: 'print one JSON document on stdout: {"ok":true,"result":…} or {"ok":false,"error":…}' })
    .option('cwd', { type: 'string', describe: 'run as if started in this directory' })
    .option('agent', { type: 'string', describe: 'the acting agent (default: GUILD_AGENT)' })
    .option('offline', { type: 'boolean', describe: 'on a board with remote: do not ask the remote; claims are made in this clone alone, queries answer from what it showed last' })
    .command('init', 'create the board, .guild/, and the merge drivers for both in .gitattributes and .git/config (idempotent)', (y) =>
      y
        .option('example', { type: 'boolean', describe: 'seed a small example board' })
        .option('demo', { type: 'boolean', describe: 'seed the demo board `guild-fs run` drives to the end (the README quick start)' })
        .option('prefix', { type: 'string', describe: 'task ID prefix (default T, or GLD with --example or --demo)' })
        .option('ci', { type: 'boolean', describe: 'add .github/workflows/guild-fs.yml, which runs `guild-fs replay --check`' })
        .option('remote', { type: 'string', describe: 'claims and sync go through this git remote (front matter remote: NAME, and ids: hash so clones never give two tasks one ID)' }),
    )
    .command('add [title..]', 'add a task; prints its ID (a title that starts with -: guild-fs add -- "-x title")', (y) =>
      y
        .positional('title', { type: 'string', describe: 'one line of title' })
        .option('prio', { choices: PRIORITIES, describe: 'priority (default normal)' })
        .option('needs', { type: 'string', describe: 'IDs this task waits for, comma-separated' })
        .option('caps', { type: 'string', describe: 'capabilities it needs, comma-separated' })
        .option('empty-ok', { type: 'boolean', describe: 'it may be done with no change (a check, a question): empty:ok, so a runner\'s try that changed nothing completes it' })
        .option('body', { type: 'string', describe: 'what the agent is asked to do (indented under the task)' })
        .option('status', { choices: ['backlog', 'blocked', 'ready'], describe: 'section (default ready, or blocked while needs are open)' }),
    )
    .command('list', 'the tasks, with status', (y) =>
      y.option('status', { choices: STATUSES, describe: 'only this status' }).option('agent', { type: 'string', describe: 'only tasks this agent owns' }),
    )
    .command('ready', 'claimable tasks, in the order they are handed out', (y) => y.option('caps', capsOption))
    .command('next', 'the task `claim` would take now (exit 5 if none)', (y) => y.option('caps', capsOption))
    .command('claim [id]', 'take ID, or the next ready task your caps allow, and make its worktree (exit 3 if taken)', (y) =>
      taskId(y, false, 'task to claim')
        .option('caps', capsOption)
        .option('pid', { type: 'number', describe: 'bind the claim to this process too' })
        .option('worktree', { type: 'boolean', default: true, describe: 'make the task\'s worktree, <clone>.worktrees/<ID> beside the clone, on branch guild/<ID>-<slug> (--no-worktree: do not)' }),
    )
    .command('complete [id]', 'mark your task done (or in review); refuses uncommitted work in its worktree (exit 2) and a failing `verify` (exit 6)', (y) =>
      taskId(y, false, 'task (default: the one whose worktree you are in, or the one you hold)')
        .option('note', { type: 'string', describe: 'a word for the log' })
        .option('commit-all', { type: 'string', describe: 'first commit everything uncommitted in the worktree with this message' }),
    )
    .command('fail [id]', 'record a failure: back to Ready after a backoff, Failed after max_tries; the branch is kept for the next try', (y) =>
      taskId(y, false, 'task (default: the one whose worktree you are in, or the one you hold)').option('reason', { type: 'string', describe: 'what went wrong', demandOption: true }),
    )
    .command('release [id]', 'give a claim back unchanged', (y) => taskId(y, false, 'task to release (default: the one whose worktree you are in, or the one you hold)'))
    .command('heartbeat [id]', 'refresh your claim\'s heartbeat', (y) => taskId(y, false, 'task (default: the one whose worktree you are in, or the one you hold)'))
    .command('show <id>', 'a task, its lock and its history', (y) => taskId(y, true, 'task to show'))
    .command('output <id>', 'what the agent printed in a try of the task (`guild-fs run` records it); --json: NDJSON, one object per line of output; exit 4 if there is none', (y) =>
      taskId(y, true, 'task whose output to print')
        .option('try', { type: 'number', describe: 'which try (default: the latest); `show` lists them' })
        .option('follow', { alias: 'f', type: 'boolean', describe: 'keep printing as the try writes more, until it ends' }),
    )
    .command('locks', 'the claim locks held now')
    .command('heal', 'break stale locks and requeue their tasks; finish or undo work a crash cut short')
    .command('doctor', 'check board, log, locks, worktrees, the daemon and the merge drivers; exit 6 naming each problem')
    .command('worktree [action]', 'agents\' worktrees: `list` (task, status, ahead/behind, dirty, merged) or `prune` (removes those whose task is Done and whose branch is merged; keeps and reports the rest)', (y) =>
      y
        .positional('action', { type: 'string', choices: ['list', 'prune'], describe: 'list (default) or prune' })
        .option('dry-run', { type: 'boolean', describe: 'prune: say what would be removed, remove nothing' }),
    )
    .command('conflicts', 'predict merge conflicts between active task branches, and each with the main branch (git merge-tree; no checkout touched); exit 6 if any')
    .command('trust', 'let this clone run the board\'s verify, worktree_setup and agents: commands as they are now (records their hash in <git-common-dir>/guild/trust.json); until then claim, complete and run refuse to run them (exit 2)', (y) =>
      y.option('revoke', { type: 'boolean', describe: 'forget what this clone trusted: run none of the board\'s commands until trusted again' }),
    )
    .command('run', 'turn an agent\'s command into workers that drain the board: each claims a task (its worktree), runs CMD there with the prompt on stdin, then completes or fails it (exit 0 all done, 6 some failed, 5 nothing to do, 8 the agent command unavailable with --no-wait)', (y) =>
      y
        .usage('$0 run [options] -- CMD [ARG...]   (ARGs {id} {title} {prompt} {prompt_file} {worktree} {branch} are replaced)\n$0 run [--profile NAME] [options]   (the board\'s agents: profiles, all or one)')
        .option('parallel', { alias: 'j', type: 'number', describe: 'workers, named <agent>-1..N (default 1; <agent>: --agent, GUILD_AGENT, or CMD\'s name)' })
        .option('caps', capsOption)
        .option('max-tasks', { type: 'number', describe: 'claim at most this many tasks in all' })
        .option('timeout', { type: 'string', describe: 'stop an agent running longer than this (SIGTERM to its process group, SIGKILL after --kill-after); the try fails' })
        .option('kill-after', { type: 'string', describe: 'grace period between SIGTERM and SIGKILL (default 10s)' })
        .option('idle-timeout', { type: 'string', describe: 'stop an agent that prints nothing (stdout or stderr) for this long, as --timeout does; the try fails saying it went silent' })
        .option('allow-empty', { type: 'boolean', describe: 'let a try that changed nothing complete (default: an exit 0 with no commit and nothing uncommitted fails; a task says empty:ok, a profile allow_empty: true)' })
        .option('watch', { type: 'boolean', describe: 'when nothing is claimable, wait for new work instead of ending' })
        .option('commit', { type: 'boolean', default: true, describe: 'commit what an agent that exits 0 left uncommitted (--no-commit: do not; the try then fails if anything is left)' })
        .option('profile', { type: 'string', describe: 'without CMD: run only this profile of the front matter\'s agents: (default: all of them)' })
        .option('max-load', { type: 'string', describe: 'start no new claim while the 1-minute load average per core is above this (e.g. 1.5)' })
        .option('min-free-mem', { type: 'string', describe: 'start no new claim while available memory is below this (e.g. 2G, 512M)' })
        .option('wait', { type: 'boolean', default: true, describe: 'when the agent command is unavailable (not logged in, rate or usage limit), wait for the reset time it printed, or a backoff (--no-wait: stop claiming, give the tries back, exit 8)' })
        .option('unavailable', { type: 'string', array: true, describe: 'output that means the agent command cannot work now (a substring, or /regexp/flags); added to the defaults: not logged in, invalid key, rate limit, usage limit, quota' })
        .epilogue('Ctrl-C once: no new claims, running agents finish. Twice: they are stopped and their tasks released. --json: NDJSON events, one a line, the summary last.'),
    )
    .command('mcp', 'serve guild-fs to agent hosts over MCP on stdio (tools: ready, claim, show, complete, fail, release, add, log); the agent is GUILD_AGENT, or each tool\'s agent argument; claims are bound to the server\'s process', (y) =>
      y.epilogue('Add it to a host, e.g. Claude Code: claude mcp add guild-fs --env GUILD_AGENT=claude -- npx guild-fs mcp. stdout carries only protocol messages; notes go to stderr. It ends when the host closes its stdin.'),
    )
    .command('prime', 'write how to take, report and finish work here (CLI and MCP) between markers into AGENTS.md (made when missing) and CLAUDE.md (when present); idempotent, text outside the markers untouched', (y) =>
      y.option('print', { type: 'boolean', describe: 'print the section instead; write nothing' }),
    )
    .command('graph', 'the dependency graph (needs:) with each task\'s status, as Mermaid (default) or DOT; open work by default', (y) =>
      y
        .option('mermaid', { type: 'boolean', describe: 'Mermaid flowchart, renders on GitHub as it is (the default)' })
        .option('dot', { type: 'boolean', describe: 'Graphviz DOT (e.g. | dot -Tsvg > graph.svg)' })
        .option('status', { choices: STATUSES, describe: 'only tasks with this status, and the tasks they need' })
        .option('all', { type: 'boolean', describe: 'Done tasks too (default: everything not Done, and the tasks it needs)' })
        .option('into', { type: 'string', describe: 'write the Mermaid graph into this Markdown file, between <!-- guild-fs:graph:start --> and end markers (appended the first time; idempotent)' })
        .conflicts('mermaid', 'dot')
        .conflicts('status', 'all')
        .conflicts('into', 'dot')
        .epilogue('--json: nodes, edges (from the needed task to the one that needs it), cycles, unknown needs, and the text. Cycles and needs on unknown IDs are drawn as they are (an unknown ID as a dashed node) and named on stderr.'),
    )
    .command('stats', 'per agent: claimed, completed, failed, in progress, time from claim to complete; per status: counts', (y) =>
      y.option('lenient', { type: 'boolean', describe: 'skip malformed lines with a warning' }),
    )
    .command('sync', 'record hand edits of the board in the log, give IDs to new items, fix placement; --remote: then commit the board and log, merge the remote\'s, push', (y) =>
      y.option('remote', { type: 'boolean', describe: 'also travel through the front matter\'s remote: commit ACTIVE_TASKS.md and the log, fetch, merge through the merge drivers, push (retrying while other clones push), report tasks In Progress whose claim is gone (exit 7: remote unreachable, nothing done)' }),
    )
    .command('log [action] [file]', 'the audit log, filtered; --json prints NDJSON, one event a line; `log export FILE`, `log rotate`', (y) =>
      y
        .positional('action', { type: 'string', choices: ['export', 'rotate'], describe: 'export: write the (filtered) log to FILE; rotate: move old events to monthly gzip segments' })
        .option('before', { type: 'string', describe: 'rotate: events older than this (default: the start of this month)' })
        .positional('file', { type: 'string', describe: 'the file for export' })
        .option('ndjson', { type: 'boolean', describe: 'export as NDJSON instead of one JSON array' })
        .option('task', { type: 'string', describe: 'only this task' })
        .option('agent', { type: 'string', describe: 'only events by this agent' })
        .option('type', { type: 'string', array: true, describe: 'only these event types (repeat or comma-separate)' })
        .option('since', { type: 'string', describe: 'from this time, or this long ago (2h, 3d)' })
        .option('until', { type: 'string', describe: 'up to this time, or this long ago' })
        .option('errors', { type: 'boolean', describe: 'only failures, poisonings and healed locks' })
        .option('limit', { type: 'number', describe: 'only the last N' })
        .option('lenient', { type: 'boolean', describe: 'skip malformed lines with a warning' }),
    )
    .command('replay', 'fold the audit log into each task\'s state; --check compares it with the board (exit 6)', (y) =>
      y
        .option('check', { type: 'boolean', describe: 'compare with the board and name each disagreement' })
        .option('until', { type: 'string', describe: 'only events up to this time' })
        .option('lenient', { type: 'boolean', describe: 'skip malformed lines with a warning' }),
    )
    .command('watch', 'the daemon: keeps the board in step with hand edits, ticked boxes, needs, stale locks and retry times, removes merged worktrees, until Ctrl-C (one per clone; exit 3 if one runs)', (y) =>
      y
        .option('heal-every', { type: 'string', describe: 'break stale locks this often, besides whenever a lock changes (default 30s)' })
        .option('sample-every', { type: 'string', describe: 'sample CPU, memory and disk into <git-common-dir>/guild/daemon.json this often (default 30s)' })
        .option('debounce', { type: 'string', describe: 'quiet time after a save before reacting (default 50ms)' })
        .option('sync-every', { type: 'string', describe: 'also `sync --remote` this often (e.g. 30s; needs remote: in the front matter); a failure is reported and tried again at the next tick' })
        .epilogue('Progress goes to stderr. With --json, stdout gets one document when the daemon stops: its final report (or the error envelope).'),
    )
    .command('events', 'the live log\'s events (--json: NDJSON, one event a line); --follow keeps printing them as they are appended', (y) =>
      y
        .option('follow', { alias: 'f', type: 'boolean', describe: 'after the existing events, print each new one as it is appended (handles rotation)' })
        .option('since', { type: 'string', describe: 'only events from this time, or this long ago (2h, 3d)' })
        .option('limit', { type: 'number', describe: 'of the existing events, only the last N (0: only new ones with --follow)' })
        .option('poll', { type: 'string', describe: 'with --follow, also look this often where file notifications fail (default 1s)' }),
    )
    .command('status', 'one screen: tasks per status, who holds what, the daemon and the machine')
    .command('merge-driver <kind> <base> <ours> <theirs> [path]', 'what git runs to merge the board (task by task) or the log (union); `init` registers it', (y) =>
      y
        .positional('kind', { choices: ['board', 'log'], describe: 'which file git is merging' })
        .positional('base', { type: 'string', describe: 'the common ancestor\'s version (%O)' })
        .positional('ours', { type: 'string', describe: 'our version, where the result is written (%A)' })
        .positional('theirs', { type: 'string', describe: 'their version (%B)' })
        .positional('path', { type: 'string', describe: 'the file\'s path in the repository (%P)' }),
    )
    .demandCommand(1, 'name a command; guild-fs --help lists them')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(VERSION ?? 'dev')
    .wrap(null)
    .epilogue('Exit codes: 0 done, 1 unexpected failure, 2 bad usage or input, 3 held by someone else, 4 no such task, 5 nothing to do, 6 a check failed, 7 the git remote could not be reached (nothing was done).')
    .fail((message, error) => {
      throw error ?? new UsageError(message);
    });
}

export async function run(argv: string[] = process.argv.slice(2)): Promise<void> {
  // `guild-fs log --json | head`: the reader went away; stop quietly, as CLI tools do.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(exitCode);
    throw error;
  });
  const options = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  const json = options.some((arg) => arg === '--json' || arg === '--json=true');
  try {
    const parsed = await buildParser(argv).parseAsync();
    const name = String(parsed._[0]);
    if (commands[name]) await dispatch(name, parsed as GlobalArgs & Record<string, unknown>);
  } catch (error) {
    exitCode = printError(error, { json });
  }
  process.exitCode = exitCode;
  exitWhenFlushed(exitCode);
}

/**
 * A command has nothing left to do once its output is out. Leaving then, rather than when the
 * event loop drains, skips the idle-time garbage collection V8 would start first, a measurable
 * share of a claim on a large board. The write callbacks make sure no output is cut off.
 */
function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
