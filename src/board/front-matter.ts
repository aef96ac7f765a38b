// Front matter is YAML and only YAML. gray-matter would happily run a `---js` block through
// eval, so the language is judged here first and every other engine is replaced by one that
// refuses: the board is untrusted input and must never execute.
import { FileError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { splitCommandLine } from '../command-line.js';
import { compileLinePattern } from '../line-pattern.js';
import { CAP_PATTERN, PREFIX_PATTERN, REMOTE_PATTERN, isAgentName } from '../identifiers.js';
import { readableText } from './board-bytes.js';
import { DEFAULT_HEADINGS, isStatus, normalizeHeading } from './sections.js';
import { STATUSES, type Settings, type Status } from './types.js';

export interface FrontMatter {
  /** Last line of the front matter block (the closing ---), 0 when there is none. */
  endLine: number;
  settings: Settings;
}

// Linear on any line: the language and the spaces after it are one optional group, so no two
// runs of [ \t]* stand side by side (`---` and 100,000 spaces and an x cost seconds that way).
const OPEN = /^---[ \t]*(?:(\S+)[ \t]*)?$/;

export async function readFrontMatter(file: string, lines: string[]): Promise<FrontMatter> {
  const first = lines[0] ?? '';
  const open = OPEN.exec(first.replace(/^\uFEFF/, ''));
  if (!open) return { endLine: 0, settings: settingsFrom(file, {}, [], 0) };
  const language = (open[1] ?? '').toLowerCase();
  if (language !== '' && language !== 'yaml' && language !== 'yml') {
    throw new FileError('EFRONTMATTER', file, 1, `front matter in ${JSON.stringify(language)} is refused: only YAML is read, nothing on the board is ever executed`, { language });
  }
  let close = -1;
  for (let i = 1; i < lines.length; i++) {
    if (/^---[ \t]*$/.test(lines[i]!)) {
      close = i;
      break;
    }
  }
  if (close < 0) throw new FileError('EFRONTMATTER', file, 1, 'front matter opened with --- is never closed (add a line with --- after it)');
  const block = lines.slice(1, close);
  const data = await parseYaml(file, block);
  return { endLine: close + 1, settings: settingsFrom(file, data, block, 1) };
}

const refuse = (): never => {
  throw new Error('only YAML front matter is read');
};

async function parseYaml(file: string, block: string[]): Promise<Record<string, unknown>> {
  if (block.every((line) => line.trim() === '' || line.trimStart().startsWith('#'))) return {};
  // Loaded only when a board is parsed, not when it comes from the cache.
  const { default: matter } = await import('gray-matter');
  let data: unknown;
  try {
    // language and engines are pinned: the input below starts with a bare ---, and no engine
    // but YAML exists for gray-matter to pick.
    data = matter(`---\n${readableText(block.join('\n'))}\n---\n`, {
      language: 'yaml',
      engines: { js: refuse, javascript: refuse, coffee: refuse, coffeescript: refuse, cson: refuse, json: refuse, toml: refuse },
    }).data;
  } catch (error) {
    const mark = (error as { mark?: { line?: number } }).mark;
    const reason = (error as { reason?: string }).reason ?? (error as Error).message.split('\n')[0];
    // mark.line counts from the text after the opening ---, which is file line 1.
    const line = typeof mark?.line === 'number' ? Math.min(mark.line + 1, block.length + 1) : 1;
    throw new FileError('EFRONTMATTER', file, line, `front matter is not valid YAML: ${reason}`);
  }
  if (data === null || data === undefined) return {};
  refuseExpansion(file, block, data);
  if (typeof data !== 'object' || Array.isArray(data)) throw new FileError('EFRONTMATTER', file, 2, 'front matter must be a YAML mapping of key: value');
  return data as Record<string, unknown>;
}

/**
 * Bounds on the front matter as a tree. js-yaml 3 (under gray-matter) has no limit on aliases, but
 * it builds an alias as a reference to the anchored node, so parsing stays cheap; it is copying the
 * tree out (settings.raw, the parse cache) that multiplies: nine aliases of nine aliases, eight
 * deep, are 433 bytes of YAML and 43 million strings. Settings are a few dozen values, so the tree
 * is walked as it would be copied, and refused as soon as it grows past what no board needs.
 */
const MAX_ALIASES = 64;
const MAX_NODES = 10_000;
const MAX_CHARS = 1_000_000;

function refuseExpansion(file: string, block: string[], data: unknown): void {
  const seen = new Set<object>();
  let aliases = 0;
  let nodes = 0;
  let chars = 0;
  const refuse = (what: string): never => {
    // The first line that uses an alias, where there is one: that is where the copies come from.
    const index = block.findIndex((line) => /(?:^|[\s[{,:-])\*[^\s,\]}]/.test(line));
    throw new FileError('EFRONTMATTER', file, index < 0 ? 1 : index + 2, `front matter ${what}: it is settings, not data (limits: ${MAX_ALIASES} aliases, ${MAX_NODES} values, ${MAX_CHARS} characters once aliases are expanded)`);
  };
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const value = stack.pop();
    if (++nodes > MAX_NODES) refuse(`expands to more than ${MAX_NODES} values`);
    if (typeof value === 'string') chars += value.length;
    else if (value !== null && typeof value === 'object') {
      if (seen.has(value) && ++aliases > MAX_ALIASES) refuse(`uses aliases more than ${MAX_ALIASES} times`);
      seen.add(value);
      for (const [key, child] of Object.entries(value)) {
        chars += key.length;
        stack.push(child);
      }
    }
    if (chars > MAX_CHARS) refuse(`expands to more than ${MAX_CHARS} characters`);
  }
}

function settingsFrom(file: string, raw: Record<string, unknown>, block: string[], offset: number): Settings {
  const lineOf = (key: string): number => {
    const index = block.findIndex((line) => new RegExp(`^${key}\\s*:`).test(line));
    // block[0] is the line after the opening ---, which is file line offset + 1.
    return index < 0 ? offset : index + offset + 1;
  };
  const bad = (key: string, what: string): never => {
    throw new FileError('EFRONTMATTER', file, lineOf(key), `front matter ${key}: ${what}`);
  };
  const duration = (key: string, fallback: string): number => {
    const value = raw[key] ?? fallback;
    const ms = parseDuration(value);
    if (ms === null) bad(key, `not a duration: ${JSON.stringify(value)} (try 90s, 5m, 1h)`);
    return ms!;
  };

  const prefix = raw.prefix ?? 'T';
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) bad('prefix', `must be 1-16 capital letters or digits starting with a letter, got ${JSON.stringify(prefix)}`);
  const maxTries = raw.max_tries ?? 3;
  if (typeof maxTries !== 'number' || !Number.isInteger(maxTries) || maxTries < 1) bad('max_tries', `must be a whole number of at least 1, got ${JSON.stringify(maxTries)}`);
  const guild = raw.guild ?? 1;
  if (guild !== 1) bad('guild', `this guild-fs reads board format 1, the board says ${JSON.stringify(guild)}`);

  const headings: Record<Status, string> = { ...DEFAULT_HEADINGS };
  if (raw.sections !== undefined) {
    if (typeof raw.sections !== 'object' || raw.sections === null || Array.isArray(raw.sections)) bad('sections', 'must map statuses to heading text');
    for (const [key, value] of Object.entries(raw.sections as Record<string, unknown>)) {
      if (!isStatus(key)) bad('sections', `unknown status ${JSON.stringify(key)} (statuses: ${STATUSES.join(', ')})`);
      if (typeof value !== 'string' || value.trim() === '' || /[\r\n]/.test(value)) bad('sections', `heading for ${key} must be one line of text`);
      headings[key as Status] = (value as string).trim();
    }
    refuseSharedHeadings(headings, (status, what) => {
      throw new FileError('EFRONTMATTER', file, sectionKeyLine(block, status, lineOf('sections')), `front matter sections: ${what}`);
    });
  }
  const remote = raw.remote ?? null;
  // The name goes into git's argv: a remote's name, never an option or a URL.
  if (remote !== null && (typeof remote !== 'string' || !REMOTE_PATTERN.test(remote) || remote.includes('..'))) bad('remote', `must name a git remote (like origin), got ${JSON.stringify(remote)}`);
  const ids = raw.ids ?? 'number';
  if (ids !== 'number' && ids !== 'hash') bad('ids', `must be number or hash, got ${JSON.stringify(ids)}`);
  readWorktreeSettings(raw, bad);
  readAgentProfiles(raw, (path, what) => {
    throw new FileError('EFRONTMATTER', file, nestedKeyLine(block, path, offset), `front matter ${path.join('.')}: ${what}`);
  });
  return {
    guild: 1,
    prefix: prefix as string,
    lockTtlMs: duration('lock_ttl', '1h'),
    maxTries: maxTries as number,
    retryBaseMs: duration('retry_base', '5m'),
    review: raw.review === true,
    remote: remote as string | null,
    ids: ids as 'number' | 'hash',
    headings,
    // As JSON sees it (YAML dates become strings), so a cached board equals a parsed one.
    raw: JSON.parse(JSON.stringify(raw)) as Record<string, unknown>,
  };
}

/**
 * A heading is how the board says a task's status: one heading read as two statuses would move
 * tasks between them behind everyone's back (`sections: {ready: Done}` puts every ready task in
 * Done). A status's own name always reads as that status, so no other status may take it either.
 */
function refuseSharedHeadings(headings: Record<Status, string>, bad: (status: Status, what: string) => never): void {
  const owner = new Map<string, Status>();
  for (const status of STATUSES) owner.set(normalizeHeading(status), status);
  for (const status of STATUSES) {
    const text = normalizeHeading(headings[status]);
    const other = owner.get(text);
    if (other !== undefined && other !== status) bad(status, `the heading ${JSON.stringify(headings[status])} for ${status} is already ${other}'s; give each status a heading of its own`);
    owner.set(text, status);
  }
}

/** The line of `  status:` under `sections:`, or the sections line itself. */
function sectionKeyLine(block: string[], status: Status, sectionsLine: number): number {
  const key = new RegExp(`^[ \\t]+['"]?${status}['"]?[ \\t]*:`);
  for (let i = Math.max(0, sectionsLine - 1); i < block.length; i++) if (key.test(block[i]!)) return i + 2;
  return sectionsLine;
}

/** The worktree keys of the front matter, validated. */
export interface WorktreeSettings {
  /** `worktrees` (default true): claim makes a worktree per task. */
  enabled: boolean;
  /** `worktree_root`: where worktrees go instead of `<clone>.worktrees/` beside the clone; relative to the main worktree. */
  root: string | null;
  /** `worktree_copy`: files (usually ignored ones, like .env) copied from the main worktree into a new worktree. */
  copy: string[];
  /** `worktree_setup`: run once in a new worktree, as argv (never through a shell). */
  setup: string[] | null;
  /** `verify`: run in the worktree by `complete`, which refuses when it fails. */
  verify: string[] | null;
  /** `commit`: commit the board and the log on the main worktree's branch after each change. */
  commit: boolean;
}

export function worktreeSettings(settings: Settings, file = 'ACTIVE_TASKS.md'): WorktreeSettings {
  return readWorktreeSettings(settings.raw, (key, what) => {
    throw new FileError('EFRONTMATTER', file, undefined, `front matter ${key}: ${what}`);
  });
}

function readWorktreeSettings(raw: Record<string, unknown>, bad: (key: string, what: string) => never): WorktreeSettings {
  const flag = (key: string, fallback: boolean): boolean => {
    const value = raw[key] ?? fallback;
    if (typeof value !== 'boolean') bad(key, `must be true or false, got ${JSON.stringify(value)}`);
    return value as boolean;
  };
  const command = (key: string): string[] | null => {
    const value = raw[key];
    return value === undefined || value === null ? null : commandArgv(value, (what) => bad(key, what));
  };
  let root: string | null = null;
  if (raw.worktree_root !== undefined && raw.worktree_root !== null) {
    const value = raw.worktree_root;
    if (typeof value !== 'string' || value.trim() === '' || /[\0\r\n]/.test(value)) bad('worktree_root', `must be a directory path, got ${JSON.stringify(value)}`);
    root = value as string;
  }
  const copyRaw = raw.worktree_copy ?? [];
  const copyList = typeof copyRaw === 'string' ? [copyRaw] : copyRaw;
  if (!Array.isArray(copyList) || !copyList.every((entry) => typeof entry === 'string')) bad('worktree_copy', 'must be a list of paths relative to the repository root');
  const copy = (copyList as string[]).map((entry) => {
    const path = entry.replace(/\\/g, '/');
    const parts = path.split('/');
    // The list is read from an untrusted file and becomes copy sources and destinations: only
    // plain relative paths inside the repository, never into .git.
    if (path === '' || path.startsWith('/') || /^[A-Za-z]:/.test(path) || /[\0\r\n]/.test(path)) bad('worktree_copy', `${JSON.stringify(entry)} is not a relative path inside the repository`);
    if (parts.includes('..')) bad('worktree_copy', `${JSON.stringify(entry)} climbs out with ..`);
    if (parts[0] === '.git') bad('worktree_copy', `${JSON.stringify(entry)} is inside .git`);
    return parts.filter((part) => part !== '' && part !== '.').join('/');
  });
  return { enabled: flag('worktrees', true), root, copy, setup: command('worktree_setup'), verify: command('verify'), commit: flag('commit', false) };
}

/**
 * A command from the front matter as argv: a string split by command-line.ts (never a shell), or
 * a list of strings taken as the argv itself.
 */
function commandArgv(value: unknown, bad: (what: string) => never): string[] {
  let argv: string[];
  if (typeof value === 'string') {
    try {
      argv = splitCommandLine(value);
    } catch (error) {
      return bad((error as Error).message);
    }
  } else if (Array.isArray(value) && value.every((part) => typeof part === 'string')) argv = value as string[];
  else return bad('must be a command line (a string) or a list of its words');
  if (argv.length === 0 || argv[0] === '') bad('names no command');
  if (argv.some((part) => part.includes('\0'))) bad('holds a NUL character');
  return argv;
}

/**
 * A worker profile of `agents:` (issue 12): what `guild-fs run` starts when no command is given.
 *
 *     agents:
 *       claude:                                   # the name: workers are claude-1..claude-N
 *         command: claude -p --permission-mode acceptEdits
 *         caps: [frontend, docs]                  # or "frontend,docs"; absent: any task, as without --caps
 *         parallel: 2                             # 1..MAX_PARALLEL, default 1
 *         allow_empty: true                       # a try that changed nothing completes (default false)
 *
 * A mapping, not a list: the name is the key, so two profiles cannot share one (js-yaml refuses a
 * duplicated key). The command is a board command: it runs only once trusted (workspace/trust.ts).
 */
export interface AgentProfile {
  name: string;
  command: string[];
  /** As --caps: a task is offered only if it needs nothing outside them. null (no caps: key): no filter; []: only tasks that need none. */
  caps: string[] | null;
  parallel: number;
  /**
   * Output lines that mean this CLI cannot work now (not logged in, out of quota): each a
   * case-insensitive substring or a `/regexp/flags`, added to the runner's defaults. Only when given.
   */
  unavailable?: string[];
  /** `allow_empty`: its tries may complete having changed nothing (a reviewer, a checker); default false (runner/empty-try.ts). */
  allowEmpty: boolean;
}

/** More workers than this on one machine is a typo, not a plan: each runs an agent CLI of its own. */
export const MAX_PARALLEL = 64;
const PROFILE_KEYS = ['command', 'caps', 'parallel', 'allow_empty', 'unavailable'];

/** The board's worker profiles, in the order the front matter names them (none: []). */
export function agentProfiles(settings: Settings, file = 'ACTIVE_TASKS.md'): AgentProfile[] {
  return readAgentProfiles(settings.raw, (path, what) => {
    throw new FileError('EFRONTMATTER', file, undefined, `front matter ${path.join('.')}: ${what}`);
  });
}

function readAgentProfiles(raw: Record<string, unknown>, bad: (path: string[], what: string) => never): AgentProfile[] {
  const agents = raw.agents;
  if (agents === undefined || agents === null) return [];
  const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isMap(agents)) return bad(['agents'], 'must map profile names to { command, caps, parallel }');
  return Object.entries(agents).map(([name, value]) => {
    // Workers are named <name>-<n>, and worker names become lock owners, branch parts and paths.
    if (!isAgentName(name) || !isAgentName(`${name}-${MAX_PARALLEL}`)) bad(['agents', name], 'a profile name is 1-61 of A-Z a-z 0-9 . _ - (its workers are <name>-1, <name>-2, ...)');
    if (!isMap(value)) return bad(['agents', name], 'must be a mapping with command (and caps, parallel)');
    for (const key of Object.keys(value)) if (!PROFILE_KEYS.includes(key)) bad(['agents', name, key], `unknown key (a profile has ${PROFILE_KEYS.join(', ')})`);
    if (value.command === undefined || value.command === null) bad(['agents', name], 'names no command (add command: the agent CLI to run, as a string or a list of words)');
    const command = commandArgv(value.command, (what) => bad(['agents', name, 'command'], what));
    const capsRaw = value.caps ?? null;
    const capsList = typeof capsRaw === 'string' ? capsRaw.split(',').map((cap) => cap.trim()).filter(Boolean) : capsRaw;
    if (capsList !== null && (!Array.isArray(capsList) || !capsList.every((cap) => typeof cap === 'string'))) bad(['agents', name, 'caps'], 'must be a list of capability names, or one string of them comma-separated');
    for (const cap of (capsList ?? []) as string[]) if (!CAP_PATTERN.test(cap)) bad(['agents', name, 'caps'], `${JSON.stringify(cap)} is not a capability name (1-64 of A-Z a-z 0-9 . _ -)`);
    const parallel = value.parallel ?? 1;
    if (typeof parallel !== 'number' || !Number.isInteger(parallel) || parallel < 1 || parallel > MAX_PARALLEL) bad(['agents', name, 'parallel'], `must be a whole number from 1 to ${MAX_PARALLEL}, got ${JSON.stringify(parallel)}`);
    const unavailable = unavailablePatterns(value.unavailable, (what) => bad(['agents', name, 'unavailable'], what));
    const allowEmpty = value.allow_empty ?? false;
    if (typeof allowEmpty !== 'boolean') bad(['agents', name, 'allow_empty'], `must be true or false, got ${JSON.stringify(allowEmpty)}`);
    return { name, command, caps: capsList === null ? null : [...new Set(capsList as string[])], parallel: parallel as number, allowEmpty: allowEmpty as boolean, ...(unavailable ? { unavailable } : {}) };
  });
}

/** A profile's `unavailable:` patterns: one string or a list of them; a `/.../flags` one must be a regular expression. */
function unavailablePatterns(raw: unknown, bad: (what: string) => never): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || !list.every((one) => typeof one === 'string' && one.trim() !== '')) return bad('must be a list of patterns (each a substring, or /regexp/flags), or one of them');
  for (const one of list as string[]) {
    try {
      compileLinePattern(one);
    } catch (error) {
      bad(`${JSON.stringify(one)} is not a regular expression: ${(error as Error).message}`);
    }
  }
  return list as string[];
}

/**
 * The file line of a nested key (`agents` > `claude` > `parallel`): each key looked for after the
 * line of its parent, deeper indented. Falls back to the deepest key found, then to `offset`.
 */
export function nestedKeyLine(block: string[], path: readonly string[], offset = 1): number {
  let from = 0;
  let indent = -1;
  let found = offset;
  for (const key of path) {
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = new RegExp(`^([ \\t]*)['"]?${escaped}['"]?[ \\t]*:`);
    let hit = -1;
    for (let i = from; i < block.length; i++) {
      const line = block[i]!;
      // Past the parent's block (a line indented no deeper than the parent): not there.
      if (indent >= 0 && line.trim() !== '' && !line.trimStart().startsWith('#') && /^[ \t]*/.exec(line)![0].length <= indent) break;
      const match = pattern.exec(line);
      if (match && match[1]!.length > indent) {
        hit = i;
        indent = match[1]!.length;
        break;
      }
    }
    if (hit < 0) break;
    found = hit + offset + 1;
    from = hit + 1;
  }
  return found;
}
