// init: the board, .guild/ with its log, the .gitattributes line that lets branches that both
// appended to the log merge without conflict, and the locks folder. Idempotent: what exists is
// left as it is.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBoard } from '../board/parse-board.js';
import { writeBoardText } from '../board/board-file.js';
import { UsageError } from '../errors.js';
import { PREFIX_PATTERN } from '../identifiers.js';
import { appendEvents } from '../log/append-event.js';
import { makeEvent } from '../log/event.js';
import { openGuild, type Guild } from './guild.js';

export interface InitResult {
  /** The CI workflow written with --ci, or null. */
  workflow: string | null;
  board: string;
  boardCreated: boolean;
  log: string;
  logCreated: boolean;
  gitattributes: 'added' | 'present';
  tasks: number;
}

export const ATTRIBUTES_LINE = '.guild/audit.jsonl merge=union';

export async function initGuild(cwd: string, options: { example?: boolean; prefix?: string; agent: string; templatesDir?: string; ci?: boolean; version?: string }): Promise<InitResult> {
  const prefix = options.prefix ?? (options.example ? 'GLD' : 'T');
  if (!PREFIX_PATTERN.test(prefix)) throw new UsageError(`--prefix must be 1-16 capital letters or digits starting with a letter, got ${JSON.stringify(prefix)}`);
  const guild = openGuild(cwd);
  const root = guild.repo.mainWorktree;
  mkdirSync(dirname(guild.logPath), { recursive: true });
  mkdirSync(guild.locksDir, { recursive: true });

  const boardCreated = !existsSync(guild.boardPath);
  let tasks = 0;
  if (boardCreated) {
    const template = readFileSync(join(options.templatesDir ?? templatesDir(), options.example ? 'ACTIVE_TASKS.example.md' : 'ACTIVE_TASKS.md'), 'utf8');
    const text = template.replaceAll('{{prefix}}', prefix);
    const board = await parseBoard('ACTIVE_TASKS.md', text);
    tasks = board.tasks.length;
    // The log must explain every task on the board, or the first replay --check would fail.
    appendEvents(guild.logPath, board.tasks.map((task) => creationEvent(guild, options.agent, task)));
    await writeBoardText(guild.boardPath, text);
  }
  const logCreated = !existsSync(guild.logPath);
  if (logCreated) writeFileSync(guild.logPath, '');
  let workflow: string | null = null;
  if (options.ci) {
    workflow = join(root, '.github', 'workflows', 'guild-fs.yml');
    if (!existsSync(workflow)) {
      const template = readFileSync(join(options.templatesDir ?? templatesDir(), 'github-workflow.yml'), 'utf8');
      mkdirSync(dirname(workflow), { recursive: true });
      writeFileSync(workflow, template.replaceAll('{{version}}', options.version ?? 'latest'));
    }
  }
  return { workflow, board: guild.boardPath, boardCreated, log: guild.logPath, logCreated: logCreated || boardCreated, gitattributes: ensureAttributes(root), tasks };
}

function creationEvent(guild: Guild, agent: string, task: { id: string | null; title: string; status: string; prio: string; needs: string[]; caps: string[] }) {
  return makeEvent({ type: 'task.created', task: task.id!, agent, host: guild.host, data: { title: task.title, status: task.status, prio: task.prio, needs: task.needs, caps: task.caps } }, guild.now());
}

function ensureAttributes(root: string): 'added' | 'present' {
  const path = join(root, '.gitattributes');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (text.split(/\r?\n/).some((line) => line.trim() === ATTRIBUTES_LINE)) return 'present';
  writeFileSync(path, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${ATTRIBUTES_LINE}\n`);
  return 'added';
}

/** templates/ sits beside dist/ and src/ alike: one level up from either. */
function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'templates', 'ACTIVE_TASKS.md'))) return join(dir, 'templates');
    dir = dirname(dir);
  }
  throw new Error('cannot find the templates folder of guild-fs');
}
