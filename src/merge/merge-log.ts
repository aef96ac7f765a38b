// The log's merge: a three-way merge of two sets of events. The result keeps ours' lines in
// ours' order (so ours' history is a prefix of what readers already saw), drops what theirs
// removed since the base (a rotation moves old events out of the live file), and appends the
// events only theirs has, in theirs' order. An event is known by its id, so one that reached
// both sides (through an earlier merge, say) is written once; a line that is not an event is
// known by its text.

export interface LogMerge {
  text: string;
  /** Events taken from theirs. */
  added: number;
  /** Lines dropped because theirs removed them (a rotation on their side). */
  removed: number;
  /** Unfinished last lines (a crash mid-append on one side), left out so that they cannot become malformed middle lines. */
  torn: { side: 'base' | 'ours' | 'theirs'; text: string }[];
}

export function mergeLogs(base: string, ours: string, theirs: string): LogMerge {
  const torn: LogMerge['torn'] = [];
  const baseLines = eventLines(base, 'base', torn);
  const ourLines = eventLines(ours, 'ours', torn);
  const theirLines = eventLines(theirs, 'theirs', torn);

  const inBase = new Set(baseLines.map(lineKey));
  const inTheirs = new Set(theirLines.map(lineKey));
  const written = new Set<string>();
  const out: string[] = [];
  let removed = 0;
  for (const line of ourLines) {
    const key = lineKey(line);
    if (inBase.has(key) && !inTheirs.has(key)) {
      removed++;
      continue;
    }
    if (written.has(key)) continue;
    written.add(key);
    out.push(line);
  }
  let added = 0;
  for (const line of theirLines) {
    const key = lineKey(line);
    if (inBase.has(key) || written.has(key)) continue;
    written.add(key);
    out.push(line);
    added++;
  }
  return { text: out.map((line) => `${line}\n`).join(''), added, removed, torn };
}

/**
 * The complete lines of a log; an unterminated last line that is not JSON is torn. NUL bytes (what
 * a power loss leaves) are dropped: they carry nothing, and the text between them is kept as
 * lines of its own, so that an event whose newline the power loss took is still merged.
 */
function eventLines(text: string, side: LogMerge['torn'][number]['side'], torn: LogMerge['torn']): string[] {
  const lines = text.split('\n');
  const last = lines.pop()!;
  const out: string[] = [];
  for (const line of lines) out.push(...betweenNuls(line));
  for (const piece of betweenNuls(last)) {
    if (parses(piece)) out.push(piece);
    else torn.push({ side, text: piece });
  }
  return out.map((line) => line.replace(/\r$/, '')).filter((line) => line.trim() !== '');
}

function betweenNuls(line: string): string[] {
  if (line === '') return [];
  return line.includes('\0') ? line.split(/\0+/).filter((piece) => piece !== '') : [line];
}

function parses(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function lineKey(line: string): string {
  // Our own lines start {"v":1,"id":"…": read the id without parsing the whole event.
  const fast = /^\{"v":\d+,"id":"([^"\\]+)"/.exec(line);
  if (fast) return `id:${fast[1]}`;
  try {
    const event = JSON.parse(line) as { id?: unknown };
    if (event && typeof event === 'object' && typeof event.id === 'string') return `id:${event.id}`;
  } catch {
    // Not an event: known by its text.
  }
  return `line:${line}`;
}
