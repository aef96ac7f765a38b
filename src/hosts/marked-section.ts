// A section of a Markdown file that guild-fs owns, between two HTML comments:
//
//   <!-- guild-fs:NAME:start -->
//   ...what guild-fs wrote...
//   <!-- guild-fs:NAME:end -->
//
// The rest of the file is the person's: every byte outside the markers is kept as it is (its line
// ends, a BOM, bytes that are not UTF-8, a last line without a newline). A marker counts only as a
// line of its own, so a marker quoted inside a sentence is text. Writing what is already there
// writes nothing, not even the mtime. Since these files are committed and read by agents, a write
// never follows a symlink out of the repository and never replaces anything but a regular file.
import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { decodeLossless, encodeLossless } from '../board/board-bytes.js';
import { FileError } from '../errors.js';

export interface SectionWrite {
  /** The file as given, relative to the repository root. */
  file: string;
  state: 'created' | 'updated' | 'unchanged';
}

export function startMarker(name: string): string {
  return `<!-- guild-fs:${name}:start -->`;
}

export function endMarker(name: string): string {
  return `<!-- guild-fs:${name}:end -->`;
}

/** The section as it is written into a new file or printed: markers, body, LF line ends. */
export function markedSection(name: string, body: string, eol = '\n'): string {
  return [startMarker(name), ...bodyLines(body), endMarker(name)].join(eol);
}

/**
 * The file's text with the section between NAME's markers replaced by `body`, or appended at the
 * end when the file has no markers. Pure; `file` names the file in errors (`file:line: ...`).
 */
export function replaceMarkedSection(text: string, name: string, body: string, file: string): { text: string; changed: boolean } {
  const lines = text.split('\n');
  const { start, end } = findMarkers(lines, name, file);
  // The file's own line end; a file that has none yet gets LF.
  const first = text.indexOf('\n');
  const eol = first > 0 && text[first - 1] === '\r' ? '\r\n' : '\n';
  if (start === null) {
    if (text === '' || text === '\ufeff') return { text: `${text}${markedSection(name, body, eol)}${eol}`, changed: true };
    // After the last line (ended if it was not), with a blank line between, as a person would add it.
    const ended = text.endsWith('\n') ? text : text + eol;
    const spaced = /(^|\n)\r?\n$/.test(ended) ? ended : ended + eol;
    return { text: `${spaced}${markedSection(name, body, eol)}${eol}`, changed: true };
  }
  // lines[start] keeps its own end ('\r' stays in the line); only the lines between are replaced,
  // with the start marker's line end (a file of mixed ends: the one the section has).
  const sectionEol = lines[start]!.endsWith('\r') ? '\r\n' : '\n';
  const inner = bodyLines(body).map((line) => line + sectionEol);
  const before = lines.slice(0, start + 1).join('\n') + '\n';
  const old = lines.slice(start + 1, end!).map((line) => `${line}\n`).join('');
  const after = lines.slice(end!).join('\n');
  const now = inner.join('');
  if (old === now) return { text, changed: false };
  return { text: before + now + after, changed: true };
}

/** A write worked out and checked, not made yet: see planMarkedSection. */
export interface PlannedSection {
  target: string;
  result: SectionWrite;
  text: string;
}

/**
 * Works out the write of the section into `path`, which must lie inside `root` (the repository's
 * worktree), refusing what writeMarkedSection would refuse. With `create`, a missing file is made
 * holding only the section. Lets a caller check several files before it writes any.
 */
export function planMarkedSection(path: string, name: string, body: string, options: { root: string; create: boolean }): PlannedSection {
  const { target, display, exists } = safeTarget(path, options.root);
  if (!exists && !options.create) throw new FileError('ENOFILE', display, undefined, 'no such file');
  const before = exists ? decodeLossless(readFileSync(target)) : '';
  const next = replaceMarkedSection(before, name, body, display);
  return { target, text: next.text, result: { file: display, state: !next.changed ? 'unchanged' : exists ? 'updated' : 'created' } };
}

/** Makes a planned write; nothing at all when the file already holds it. Atomic: a reader sees the old file or the new one. */
export async function writePlannedSection(plan: PlannedSection): Promise<SectionWrite> {
  if (plan.result.state === 'unchanged') return plan.result;
  const { default: writeFileAtomic } = await import('write-file-atomic');
  // The real path, never the link: write-file-atomic would follow it too, but what was checked is what is written.
  writeFileAtomic.sync(plan.target, encodeLossless(plan.text), { fsync: true });
  return plan.result;
}

/** planMarkedSection, then writePlannedSection. */
export async function writeMarkedSection(path: string, name: string, body: string, options: { root: string; create: boolean }): Promise<SectionWrite> {
  return writePlannedSection(planMarkedSection(path, name, body, options));
}

/**
 * Where a write to `path` lands, refused when that is outside `root` (after every symlink, in the
 * path's folders too) or is not a regular file. lstat first: a symlink is judged by where it leads.
 */
export function safeTarget(path: string, root: string): { target: string; display: string; exists: boolean } {
  const absolute = resolve(root, path);
  const realRoot = realpathSync(root);
  const display = relative(root, absolute).split('\\').join('/') || basename(absolute);
  if (!inside(root, absolute) && !inside(realRoot, absolute)) throw unsafe(display, 'is outside the repository');
  let link;
  try {
    link = lstatSync(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // A new file: its folder must exist and be inside the repository once resolved.
    let folder: string;
    try {
      folder = realpathSync(dirname(absolute));
    } catch {
      throw new FileError('ENOFILE', display, undefined, `its folder ${relative(root, dirname(absolute)) || '.'} does not exist`);
    }
    if (folder !== realRoot && !inside(realRoot, folder)) throw unsafe(display, 'is in a folder that leads outside the repository');
    return { target: join(folder, basename(absolute)), display, exists: false };
  }
  let target: string;
  try {
    target = realpathSync(absolute);
  } catch {
    throw unsafe(display, 'is a symlink that leads nowhere');
  }
  if (!inside(realRoot, target)) throw unsafe(display, link.isSymbolicLink() ? 'is a symlink that leads outside the repository' : 'is in a folder that leads outside the repository');
  if (!statSync(target).isFile()) throw unsafe(display, 'is not a regular file');
  return { target, display, exists: true };
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

function unsafe(display: string, what: string): FileError {
  return new FileError('EUNSAFEPATH', display, undefined, `refusing to write: ${what}`);
}

/** The 0-based lines of NAME's markers, both null when there are none; a broken pair is an error. */
function findMarkers(lines: readonly string[], name: string, file: string): { start: number | null; end: number | null } {
  const open = startMarker(name);
  const close = endMarker(name);
  let start: number | null = null;
  let end: number | null = null;
  const broken = (at: number, what: string): FileError => new FileError('EMARKERS', file, at + 1, what, { marker: name });
  for (let i = 0; i < lines.length; i++) {
    // trim() takes a BOM, a CR and indentation with it.
    const line = lines[i]!.trim();
    if (line === open) {
      if (start !== null) throw broken(i, `a second ${open} (the first is on line ${start + 1}); keep one pair of markers`);
      start = i;
    } else if (line === close) {
      if (start === null) throw broken(i, `${close} before any ${open}`);
      if (end !== null) throw broken(i, `a second ${close} (the first is on line ${end + 1}); keep one pair of markers`);
      end = i;
    }
  }
  if (start !== null && end === null) throw broken(start, `${open} without a ${close} after it`);
  return { start, end };
}

/** The body's lines: its own line ends dropped (the file's are used), no trailing blank line. */
function bodyLines(body: string): string[] {
  const trimmed = body.replace(/(\r?\n)+$/, '');
  return trimmed === '' ? [] : trimmed.split(/\r?\n/);
}
