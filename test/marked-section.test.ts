// The marked section writer (src/hosts/marked-section.ts): the text between a pair of markers is
// guild-fs's, every byte outside them the person's; a second write of the same text writes
// nothing; broken markers are refused with their line; nothing is written through a symlink that
// leads out of the repository, or over what is not a regular file.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileError } from '../src/errors.js';
import { replaceMarkedSection, writeMarkedSection } from '../src/hosts/marked-section.js';

const START = '<!-- guild-fs:demo:start -->';
const END = '<!-- guild-fs:demo:end -->';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'guild-fs-marked-'));
  dirs.push(dir);
  return dir;
}

function replaced(text: string, body = 'new line 1\nnew line 2\n'): string {
  return replaceMarkedSection(text, 'demo', body, 'FILE.md').text;
}

function brokenAt(text: string, line: number, pattern: RegExp): void {
  assert.throws(
    () => replaceMarkedSection(text, 'demo', 'x', 'FILE.md'),
    (error: unknown) => error instanceof FileError && error.code === 'EMARKERS' && error.exitCode === 2 && error.line === line && error.message.startsWith(`FILE.md:${line}: `) && pattern.test(error.message),
  );
}

describe('replaceMarkedSection', () => {
  test('replaces only what is between the markers', () => {
    const text = `# Title\r\n\nkept  \n${START}\nold\n${END}\ntail without newline`;
    assert.equal(replaced(text), `# Title\r\n\nkept  \n${START}\nnew line 1\nnew line 2\n${END}\ntail without newline`);
  });

  test('without markers, appends the section after a blank line', () => {
    assert.equal(replaced('# Title\n'), `# Title\n\n${START}\nnew line 1\nnew line 2\n${END}\n`);
    assert.equal(replaced('# Title\n\n'), `# Title\n\n${START}\nnew line 1\nnew line 2\n${END}\n`);
    assert.equal(replaced(''), `${START}\nnew line 1\nnew line 2\n${END}\n`);
  });

  test('a last line without a newline is ended, not joined to the marker', () => {
    assert.equal(replaced('# Title'), `# Title\n\n${START}\nnew line 1\nnew line 2\n${END}\n`);
  });

  test('a CRLF file stays CRLF, the section included', () => {
    const out = replaced('# Title\r\nmore\r\n');
    assert.equal(out, `# Title\r\nmore\r\n\r\n${START}\r\nnew line 1\r\nnew line 2\r\n${END}\r\n`);
    assert.equal(replaced(out), out);
    assert.equal(replaced(out, 'other'), `# Title\r\nmore\r\n\r\n${START}\r\nother\r\n${END}\r\n`);
  });

  test('a BOM is kept, also when the start marker is on the first line', () => {
    const out = replaced('\ufeff# Title\n');
    assert.ok(out.startsWith('\ufeff# Title\n\n'));
    const first = `\ufeff${START}\nold\n${END}\n`;
    assert.equal(replaced(first), `\ufeff${START}\nnew line 1\nnew line 2\n${END}\n`);
    assert.equal(replaced('\ufeff'), `\ufeff${START}\nnew line 1\nnew line 2\n${END}\n`);
  });

  test('the same body twice: the second is no change', () => {
    const once = replaced('a\n');
    const twice = replaceMarkedSection(once, 'demo', 'new line 1\nnew line 2\n', 'FILE.md');
    assert.equal(twice.changed, false);
    assert.equal(twice.text, once);
  });

  test('a marker inside a sentence is text; markers of another name are text', () => {
    const text = `Write \`${START}\` to start.\n<!-- guild-fs:other:start -->\n`;
    assert.equal(replaced(text), `${text}\n${START}\nnew line 1\nnew line 2\n${END}\n`);
  });

  test('broken markers are refused with their line', () => {
    brokenAt(`a\n${START}\nb\n`, 2, /without a/);
    brokenAt(`a\n${END}\n${START}\n${END}\n`, 2, /before any/);
    brokenAt(`${START}\n${START}\n${END}\n`, 2, /a second .*first is on line 1/);
    brokenAt(`${START}\n${END}\n${END}\n`, 3, /a second .*first is on line 2/);
    brokenAt(`${START}\n${END}\n${START}\n${END}\n`, 3, /a second/);
  });
});

describe('writeMarkedSection', () => {
  test('creates a missing file when asked, refuses when not', async () => {
    const root = tempDir();
    assert.deepEqual(await writeMarkedSection(join(root, 'AGENTS.md'), 'demo', 'hello', { root, create: true }), { file: 'AGENTS.md', state: 'created' });
    assert.equal(readFileSync(join(root, 'AGENTS.md'), 'utf8'), `${START}\nhello\n${END}\n`);
    await assert.rejects(writeMarkedSection(join(root, 'NOPE.md'), 'demo', 'hello', { root, create: false }), { code: 'ENOFILE' });
  });

  test('every byte outside the markers survives, invalid UTF-8 included', async () => {
    const root = tempDir();
    const path = join(root, 'notes.md');
    const head = Buffer.from([0xef, 0xbb, 0xbf, 0x63, 0x61, 0x66, 0xe9, 0x0d, 0x0a]); // BOM, Latin-1 "café", CRLF
    const tail = Buffer.from('\r\n\u00e9t\u00e9 \ud83c\udf89 trailing', 'utf8');
    writeFileSync(path, Buffer.concat([head, Buffer.from(`${START}\r\nold\r\n${END}`), tail]));
    assert.equal((await writeMarkedSection(path, 'demo', 'new', { root, create: false })).state, 'updated');
    assert.deepEqual(readFileSync(path), Buffer.concat([head, Buffer.from(`${START}\r\nnew\r\n${END}`), tail]));
  });

  test('twice in a row: the second write touches nothing, not even the mtime', async () => {
    const root = tempDir();
    const path = join(root, 'README.md');
    writeFileSync(path, '# Readme\n');
    await writeMarkedSection(path, 'demo', 'body', { root, create: false });
    const past = new Date(Date.now() - 60_000);
    utimesSync(path, past, past);
    const before = readFileSync(path);
    const mtime = statSync(path).mtimeMs;
    assert.equal((await writeMarkedSection(path, 'demo', 'body', { root, create: false })).state, 'unchanged');
    assert.deepEqual(readFileSync(path), before);
    assert.equal(statSync(path).mtimeMs, mtime);
  });

  test('a broken file is an error naming it and its line, and is left alone', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'docs'));
    const path = join(root, 'docs', 'plan.md');
    writeFileSync(path, `x\n\n${START}\n`);
    await assert.rejects(writeMarkedSection(path, 'demo', 'body', { root, create: false }), (error: FileError) => error.code === 'EMARKERS' && error.message.startsWith('docs/plan.md:3: '));
    assert.equal(readFileSync(path, 'utf8'), `x\n\n${START}\n`);
  });

  test('a symlink out of the repository is refused and its target left alone', async () => {
    const root = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'secret.md'), 'secret\n');
    symlinkSync(join(outside, 'secret.md'), join(root, 'AGENTS.md'));
    await assert.rejects(writeMarkedSection(join(root, 'AGENTS.md'), 'demo', 'x', { root, create: true }), (error: FileError) => error.code === 'EUNSAFEPATH' && error.exitCode === 2 && /symlink that leads outside/.test(error.message));
    // A folder that is a link out of the repository, with a file that does not exist yet.
    symlinkSync(outside, join(root, 'out'));
    await assert.rejects(writeMarkedSection(join(root, 'out', 'new.md'), 'demo', 'x', { root, create: true }), { code: 'EUNSAFEPATH' });
    await assert.rejects(writeMarkedSection(join(root, '..', 'elsewhere.md'), 'demo', 'x', { root, create: true }), { code: 'EUNSAFEPATH' });
    assert.equal(readFileSync(join(outside, 'secret.md'), 'utf8'), 'secret\n');
    assert.deepEqual(readFileSync(join(outside, 'secret.md'), 'utf8'), 'secret\n');
  });

  test('a symlink inside the repository is written through, and stays a symlink', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'AGENTS.md'), '# Agents\n');
    symlinkSync('AGENTS.md', join(root, 'CLAUDE.md'));
    assert.equal((await writeMarkedSection(join(root, 'CLAUDE.md'), 'demo', 'x', { root, create: false })).state, 'updated');
    assert.ok(readFileSync(join(root, 'AGENTS.md'), 'utf8').includes(`${START}\nx\n${END}`));
    assert.equal((await writeMarkedSection(join(root, 'AGENTS.md'), 'demo', 'x', { root, create: false })).state, 'unchanged');
  });

  test('a folder, or a link to nowhere, is not a file to write', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'dir.md'));
    await assert.rejects(writeMarkedSection(join(root, 'dir.md'), 'demo', 'x', { root, create: true }), (error: FileError) => error.code === 'EUNSAFEPATH' && /not a regular file/.test(error.message));
    symlinkSync(join(root, 'missing.md'), join(root, 'dangling.md'));
    await assert.rejects(writeMarkedSection(join(root, 'dangling.md'), 'demo', 'x', { root, create: true }), { code: 'EUNSAFEPATH' });
  });
});
