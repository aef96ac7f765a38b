// Where an agent's try writes its output, and in what form: `<git-common-dir>/guild/runs/<ID>/<try>.log`,
// one line per line the agent printed, `<ISO time> <out|err> <text>`, and a last line
// `<ISO time> end <summary>` once the try is over (exit code or signal, timed out, stopped). The
// runner writes it; `guild-fs output` and `show` read it. Kept in the clone's common dir, never
// committed: it is the agent's raw output, not history.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isTaskId } from '../identifiers.js';

export type RunStream = 'out' | 'err';

export interface RunLogLine {
  time: string;
  kind: RunStream | 'end';
  text: string;
}

export interface RunFile {
  try: number;
  path: string;
  bytes: number;
  /** When it was last written (ISO). */
  modified: string;
}

export function runsDir(commonDir: string, id: string): string {
  // The ID names a folder: only a valid task ID may (no `..`, no separators).
  if (!isTaskId(id)) throw new Error(`not a task ID: ${JSON.stringify(id)}`);
  return join(commonDir, 'guild', 'runs', id);
}

export function runLogPath(commonDir: string, id: string, tryNumber: number): string {
  if (!Number.isInteger(tryNumber) || tryNumber < 1) throw new Error(`a try is a number from 1, got ${tryNumber}`);
  return join(runsDir(commonDir, id), `${tryNumber}.log`);
}

/** The task's tries that left a log, oldest first. */
export function listRuns(commonDir: string, id: string): RunFile[] {
  let names: string[];
  try {
    names = readdirSync(runsDir(commonDir, id));
  } catch {
    return [];
  }
  const runs: RunFile[] = [];
  for (const name of names) {
    const match = /^([1-9][0-9]{0,5})\.log$/.exec(name);
    if (!match) continue;
    const path = join(runsDir(commonDir, id), name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile()) continue;
    runs.push({ try: Number(match[1]), path, bytes: stat.size, modified: stat.mtime.toISOString() });
  }
  return runs.sort((a, b) => a.try - b.try);
}

/** One line of the log; `text` must be one line (a line end in it is cut there by the writer). */
export function formatRunLine(kind: RunLogLine['kind'], text: string, now: Date = new Date()): string {
  return `${now.toISOString()} ${kind} ${text}\n`;
}

/** A line of the log read back, or null for a line that is not in the format (a torn last line). */
export function parseRunLine(line: string): RunLogLine | null {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) (out|err|end) (.*)$/s.exec(line);
  return match ? { time: match[1]!, kind: match[2] as RunLogLine['kind'], text: match[3]! } : null;
}
