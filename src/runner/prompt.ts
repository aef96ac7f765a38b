// What an agent is told on stdin (and in GUILD_PROMPT_FILE): the task's title and body, the
// tasks it needs and where their work is, why earlier tries failed, and how to finish. The text
// comes from a template: the repository's own `.guild/prompt.md` when it has one (committed, so
// every clone's agents are asked alike), else the one shipped in guild-fs's templates/prompt.md.
// Its placeholders are {{id}} {{title}} {{body}} {{worktree}} {{branch}} {{try}} {{needs}}
// {{earlier_tries}}; an unknown one is left as it is written.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Board, Task } from '../board/types.js';
import { packageRoot } from '../package-root.js';
import { eventsOfTask } from '../workspace/earlier-tries.js';

export const PROMPT_OVERRIDE = join('.guild', 'prompt.md');

export interface PromptFacts {
  id: string;
  title: string;
  body: string;
  worktree: string;
  branch: string;
  try: number;
  needs: string;
  earlier_tries: string;
}

/** The repository's template if it has one, else guild-fs's own. Read once per run. */
export function loadPromptTemplate(mainWorktree: string): { text: string; from: string } {
  const own = join(mainWorktree, PROMPT_OVERRIDE);
  try {
    return { text: readFileSync(own, 'utf8'), from: own };
  } catch {
    const shipped = join(packageRoot(), 'templates', 'prompt.md');
    return { text: readFileSync(shipped, 'utf8'), from: shipped };
  }
}

export function renderPrompt(template: string, facts: PromptFacts): string {
  return template.replace(/\{\{([a-z_]+)\}\}/g, (whole, key: string) => (key in facts ? String(facts[key as keyof PromptFacts]) : whole));
}

/** The indented lines under the task's line, without their indentation. */
export function taskBody(board: Pick<Board, 'text' | 'source'>, task: Pick<Task, 'line' | 'endLine'>): string {
  if (task.endLine <= task.line) return '';
  const starts = board.source.starts;
  const from = starts[task.line] ?? board.text.length;
  const to = starts[task.endLine] ?? board.text.length;
  const lines = board.text.slice(from, to).replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n');
  const indent = Math.min(...lines.filter((line) => line.trim() !== '').map((line) => /^[ \t]*/.exec(line)![0].length));
  return lines.map((line) => line.slice(Number.isFinite(indent) ? indent : 0)).join('\n');
}

/** One line per task this one needs: its status and the branch its work is on. */
export function describeNeeds(board: Pick<Board, 'byId'>, task: Pick<Task, 'needs'>): string {
  if (task.needs.length === 0) return 'Nothing: it needs no other task.';
  return task.needs
    .map((id) => {
      const need = board.byId.get(id);
      if (!need) return `- ${id}: not on the board any more`;
      const where = need.branch ? `its work is on the branch ${need.branch}` : 'it has no branch of its own';
      return `- ${id} ${need.title} (${need.status}): ${where}`;
    })
    .join('\n');
}

/** Why earlier tries of the task ended, from the log. */
export function describeEarlierTries(logPath: string, id: string): string {
  const ended = eventsOfTask(logPath, id).filter((event) => event.type === 'task.failed' || event.type === 'lock.healed' || event.type === 'task.released');
  if (ended.length === 0) return 'None: this is the first try.';
  return ended
    .map((event, i) => {
      const data = event.data ?? {};
      const who = event.agent ?? (typeof data.holder === 'string' ? data.holder : 'someone');
      if (event.type === 'task.released') return `- try ${i + 1} by ${who} was stopped and given back unfinished.`;
      if (event.type === 'lock.healed') return `- try ${i + 1} by ${who} stopped without a word (its claim went stale).`;
      const reason = typeof data.reason === 'string' ? data.reason.trim() : 'no reason given';
      return `- try ${i + 1} by ${who} failed:\n${reason.replace(/^/gm, '    ')}`;
    })
    .join('\n');
}
