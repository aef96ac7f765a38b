// The tools `guild-fs mcp` offers. The schemas are written by hand, not generated: every byte of
// tools/list sits in the context of every agent the host runs, so each description says what the
// tool does and what an agent must know to use it, and nothing else (a test keeps the whole
// answer under 8 KiB).
import { PRIORITIES } from '../board/types.js';

export const TOOL_NAMES = ['ready', 'claim', 'show', 'complete', 'fail', 'release', 'add', 'log'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

interface JsonSchemaProperty {
  type: 'string' | 'boolean' | 'integer';
  description: string;
  enum?: readonly string[];
  minimum?: number;
}

export interface ToolDefinition {
  name: ToolName;
  description: string;
  inputSchema: { type: 'object'; properties: Record<string, JsonSchemaProperty>; required?: string[]; additionalProperties: false };
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
}

const str = (description: string): JsonSchemaProperty => ({ type: 'string', description });
// Where a host cannot set GUILD_AGENT in the server's environment, each acting tool takes the name.
const agent = str('your agent name (default: GUILD_AGENT of the server)');
const heldId = str('task ID (default: the task you hold)');
const caps = str('your capabilities, comma-separated (default: GUILD_CAPS; none: no filter)');

function tool(name: ToolName, description: string, properties: Record<string, JsonSchemaProperty>, required: string[] = [], readOnly = false): ToolDefinition {
  return {
    name,
    description,
    inputSchema: { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false },
    // Queries touch nothing; the others change the shared board, but never destroy work.
    annotations: readOnly ? { readOnlyHint: true, openWorldHint: false } : { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
  };
}

export const TOOLS: readonly ToolDefinition[] = [
  tool('ready', 'Claimable tasks in this repository, in the order they are handed out.', { caps }, [], true),
  tool(
    'claim',
    'Take a task: the given one, or the next ready one your caps allow. Makes its git worktree; work there and commit on its branch. Fails with EHELD if someone else holds it, ENOTHING if nothing is ready.',
    { id: str('task ID (default: the next ready task)'), caps, worktree: { type: 'boolean', description: 'make the task\'s worktree (default true)' }, agent },
  ),
  tool('show', 'A task: status, owner, needs, body, lock, history and earlier tries.', { id: str('task ID') }, ['id'], true),
  tool(
    'complete',
    'Finish your task: Done (or Review). Refuses uncommitted work in its worktree unless commit_all is given, and runs the board\'s verify command.',
    { id: heldId, note: str('a word for the log'), commit_all: str('first commit everything uncommitted in the worktree with this message'), agent },
  ),
  tool('fail', 'Give up on your task with the reason: it is retried later (the branch and the reason are kept for the next try), or Failed after max_tries.', { id: heldId, reason: str('what went wrong, for whoever tries next'), agent }, ['reason']),
  tool('release', 'Give your claim back unchanged, for someone else to take.', { id: heldId, agent }),
  tool(
    'add',
    'Add a task to the board; returns its ID.',
    {
      title: str('one line'),
      body: str('what is asked, in Markdown'),
      needs: str('IDs it waits for, comma-separated'),
      caps: str('capabilities it needs, comma-separated'),
      prio: { type: 'string', enum: PRIORITIES, description: 'priority (default normal)' },
      status: { type: 'string', enum: ['backlog', 'blocked', 'ready'], description: 'section (default ready, or blocked while needs are open)' },
      agent,
    },
    ['title'],
  ),
  tool(
    'log',
    'The audit log\'s latest events, oldest first.',
    {
      task: str('only this task'),
      by: str('only events by this agent'),
      type: str('only these event types, comma-separated (e.g. task.failed)'),
      since: str('from this time, or this long ago (2h, 3d)'),
      limit: { type: 'integer', minimum: 1, description: 'at most this many (default 20)' },
    },
    [],
    true,
  ),
];
