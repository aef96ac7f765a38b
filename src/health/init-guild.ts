// init: the board, .guild/ with its log, the locks folder, and the merge drivers that let two
// branches that both changed the board or the log merge (the .gitattributes lines, committed,
// and the driver commands in the clone's own git config). Idempotent: what exists is left as it
// is, and a driver command that moved is updated.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseBoard } from '../board/parse-board.js';
import { restoreAsideBoard, writeBoardText } from '../board/board-file.js';
import { UsageError } from '../errors.js';
import { PREFIX_PATTERN } from '../identifiers.js';
import { appendEvents, LOG_FILE } from '../log/append-event.js';
import { makeEvent } from '../log/event.js';
import { packageRoot } from '../package-root.js';
import { loadBoard, openGuild, type Guild } from '../tasks/guild.js';
import { requireGitRemote, setUpRemote, withRemoteSettings, type RemoteSetup } from '../remote/init-remote.js';
import { boardCommands, trustBoard, trustOf, type BoardCommand } from '../workspace/trust.js';
import { registerMergeDrivers, type DriverRegistration } from '../git/merge-drivers.js';
import { ATTRIBUTE_LINES, readAttributes } from '../merge/gitattributes.js';

export interface InitResult {
  /** The CI workflow written with --ci, or null. */
  workflow: string | null;
  board: string;
  boardCreated: boolean;
  log: string;
  logCreated: boolean;
  gitattributes: 'added' | 'updated' | 'present';
  /** The merge drivers for the board and the log in the clone's git config. */
  mergeDrivers: DriverRegistration[];
  tasks: number;
  /** What `--remote` set up in the front matter. */
  remote?: RemoteSetup;
  /** The board's commands (verify, worktree_setup) this clone does not trust: an existing board's, which init never trusts for you. */
  untrusted?: BoardCommand[];
}

const LEGACY_LOG_LINE = `${LOG_FILE} merge=union`;

export async function initGuild(cwd: string, options: { example?: boolean; demo?: boolean; prefix?: string; agent: string; templatesDir?: string; ci?: boolean; version?: string; remote?: string }): Promise<InitResult> {
  const prefix = options.prefix ?? (options.example || options.demo ? 'GLD' : 'T');
  if (!PREFIX_PATTERN.test(prefix)) throw new UsageError(`--prefix must be 1-16 capital letters or digits starting with a letter, got ${JSON.stringify(prefix)}`);
  const guild = openGuild(cwd);
  const root = guild.repo.mainWorktree;
  // Checked before anything is made: a typo in the remote's name leaves no half-made guild.
  if (options.remote !== undefined) await requireGitRemote(root, options.remote);
  mkdirSync(dirname(guild.logPath), { recursive: true });
  mkdirSync(guild.locksDir, { recursive: true });

  // A board a writer killed mid-commit left moved aside is put back, not replaced by a new one.
  const boardCreated = !existsSync(guild.boardPath) && !restoreAsideBoard(guild.boardPath);
  let tasks = 0;
  if (boardCreated) {
    const template = readFileSync(join(options.templatesDir ?? templatesDir(), options.demo ? 'ACTIVE_TASKS.demo.md' : options.example ? 'ACTIVE_TASKS.example.md' : 'ACTIVE_TASKS.md'), 'utf8');
    let text = template.replaceAll('{{prefix}}', prefix);
    if (options.remote !== undefined) text = withRemoteSettings(text, options.remote).text;
    const board = await parseBoard('ACTIVE_TASKS.md', text);
    tasks = board.tasks.length;
    // The log must explain every task on the board, or the first replay --check would fail.
    appendEvents(guild.logPath, board.tasks.map((task) => creationEvent(guild, options.agent, task)), { markPath: guild.logMarkPath });
    await writeBoardText(guild.boardPath, text);
    // The person running init wrote this board (from a template) a moment ago: its commands, if
    // a template ever names any, are theirs to run. A board init did not write is another
    // matter (a fresh clone's, someone else's): it is never trusted here, only listed.
    if (boardCommands(board.settings).length > 0) trustBoard(guild, board);
  }
  const remote = options.remote !== undefined && !boardCreated ? await setUpRemote(guild, options.remote) : options.remote !== undefined ? { remote: options.remote, added: ['remote', 'ids'] } : undefined;
  const untrusted = await untrustedOf(guild);
  const logCreated = !existsSync(guild.logPath);
  if (logCreated) writeFileSync(guild.logPath, '');
  let workflow: string | null = null;
  if (options.ci) {
    workflow = join(root, '.github', 'workflows', 'guild-fs.yml');
    if (!existsSync(workflow)) {
      const template = readFileSync(join(options.templatesDir ?? templatesDir(), 'github-workflow.yml'), 'utf8');
      mkdirSync(dirname(workflow), { recursive: true });
      writeFileSync(workflow, template.replaceAll('{{steps}}', workflowSteps(root, options.version ?? 'latest')));
    }
  }
  return { workflow, board: guild.boardPath, boardCreated, log: guild.logPath, logCreated: logCreated || boardCreated, gitattributes: ensureAttributes(root), mergeDrivers: await registerMergeDrivers(root), tasks, ...(untrusted.length > 0 ? { untrusted } : {}), ...(remote ? { remote } : {}) };
}

/** The board's commands this clone does not trust; none when the board cannot be read (init is not the place to judge it). */
async function untrustedOf(guild: Guild): Promise<BoardCommand[]> {
  try {
    const board = await loadBoard(guild);
    return trustOf(guild, boardCommands(board.settings))
      .filter((command) => !command.trusted)
      .map(({ key, argv }) => ({ key, argv }));
  } catch {
    return [];
  }
}

function creationEvent(guild: Guild, agent: string, task: { id: string | null; title: string; status: string; prio: string; needs: string[]; caps: string[] }) {
  return makeEvent({ type: 'task.created', task: task.id!, agent, host: guild.host, data: { title: task.title, status: task.status, prio: task.prio, needs: task.needs, caps: task.caps } }, guild.now());
}

/**
 * The .gitattributes lines that send the board and the log to guild-fs's merge drivers. The
 * union line earlier versions wrote for the log is replaced: one merge attribute per path.
 */
function ensureAttributes(root: string): 'added' | 'updated' | 'present' {
  const { path, text, lines, missing } = readAttributes(root);
  if (missing.length === 0) return 'present';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const legacy = lines.findIndex((line) => line.trim() === LEGACY_LOG_LINE);
  if (legacy >= 0) lines.splice(legacy, 1);
  lines.push(...missing);
  writeFileSync(path, lines.map((line) => line + eol).join(''));
  return legacy >= 0 || missing.length < ATTRIBUTE_LINES.length ? 'updated' : 'added';
}


/**
 * The workflow's steps that run replay --check. A repository that depends on guild-fs itself
 * installs its packages and runs that version: `npx --yes guild-fs@<version>` would fetch from
 * the registry, which fails for a version not published (yet).
 */
export function workflowSteps(root: string, version: string): string {
  if (!dependsOnGuildFs(root)) return `      - run: npx --yes guild-fs@${version} replay --check`;
  const install = existsSync(join(root, 'package-lock.json')) || existsSync(join(root, 'npm-shrinkwrap.json')) ? 'npm ci' : 'npm install';
  return [`      - run: ${install}`, '      - run: npx guild-fs replay --check'].join('\n');
}

function dependsOnGuildFs(root: string): boolean {
  let manifest: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  try {
    manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  } catch {
    return false; // no package.json, or one npm could not read either
  }
  return [manifest?.dependencies, manifest?.devDependencies].some((deps) => typeof deps === 'object' && deps !== null && Object.hasOwn(deps, 'guild-fs'));
}

function templatesDir(): string {
  return join(packageRoot(), 'templates');
}
