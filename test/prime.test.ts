// `guild-fs prime` through the built CLI: the agent instructions between markers in AGENTS.md
// (made when missing) and CLAUDE.md (only when there is one), the rest of each file untouched,
// CRLF kept, a second run a no-op, --print writing nothing, --json saying what happened.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, type CliResult } from './helpers/cli.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

const START = '<!-- guild-fs:agent-instructions:start -->';
const END = '<!-- guild-fs:agent-instructions:end -->';
const TEMPLATE = readFileSync(join(import.meta.dirname, '..', 'templates', 'agent-instructions.md'), 'utf8');

let repos: TempRepo[] = [];
afterEach(() => {
  for (const repo of repos) repo.remove();
  repos = [];
});
function repo(): TempRepo {
  const made = tempRepo();
  repos.push(made);
  return made;
}
function prime(dir: string, args: string[] = [], code = 0): CliResult {
  const run = cli(['prime', ...args], { cwd: dir });
  assert.equal(run.code, code, `guild-fs prime ${args.join(' ')}: ${run.stderr}`);
  return run;
}
const bytes = (dir: string, file: string): Buffer => readFileSync(join(dir, file));

describe('guild-fs prime', () => {
  test('makes AGENTS.md holding the section; leaves CLAUDE.md uncreated', () => {
    const r = repo();
    assert.equal(prime(r.dir).stdout, 'AGENTS.md: created\n');
    assert.equal(r.read('AGENTS.md'), `${START}\n${TEMPLATE.trimEnd()}\n${END}\n`);
    assert.ok(!existsSync(join(r.dir, 'CLAUDE.md')));
  });

  test('the instructions name the commands, GUILD_AGENT and the MCP tools, in under 40 lines', () => {
    for (const word of ['guild-fs next', 'guild-fs claim', 'worktree.path', 'guild-fs complete', 'guild-fs fail --reason', 'guild-fs release', 'guild-fs show', 'GUILD_AGENT', 'guild-fs mcp', '`agent` argument']) assert.ok(TEMPLATE.includes(word), word);
    for (const tool of ['ready', 'claim', 'show', 'complete', 'fail', 'add', 'release', 'log']) assert.ok(TEMPLATE.includes(`\`${tool}\``), tool);
    assert.ok(TEMPLATE.split('\n').length <= 40);
  });

  test('updates CLAUDE.md when present, keeping every byte outside the markers; CRLF stays CRLF', () => {
    const r = repo();
    const agents = '# Agents\n\nHouse rules, by hand.\n';
    const claude = '\ufeff# Claude\r\n\r\nUse pnpm.\r\nno newline at the end';
    writeFileSync(join(r.dir, 'AGENTS.md'), agents);
    writeFileSync(join(r.dir, 'CLAUDE.md'), claude);
    const result = prime(r.dir, ['--json']).json!.result;
    assert.deepEqual(result, { files: [{ file: 'AGENTS.md', state: 'updated' }, { file: 'CLAUDE.md', state: 'updated' }], skipped: [] });
    assert.equal(r.read('AGENTS.md'), `${agents}\n${START}\n${TEMPLATE.trimEnd()}\n${END}\n`);
    const crlf = `${START}\r\n${TEMPLATE.trimEnd().replaceAll('\n', '\r\n')}\r\n${END}\r\n`;
    assert.equal(r.read('CLAUDE.md'), `${claude}\r\n\r\n${crlf}`);
    assert.ok(!/[^\r]\n/.test(r.read('CLAUDE.md')), 'no bare LF in a CRLF file');
  });

  test('an old section is replaced and the text around it kept', () => {
    const r = repo();
    const before = `# Agents\n\nabove\n${START}\nold instructions\n${END}\nbelow, by hand\n`;
    writeFileSync(join(r.dir, 'AGENTS.md'), before);
    prime(r.dir);
    assert.equal(r.read('AGENTS.md'), `# Agents\n\nabove\n${START}\n${TEMPLATE.trimEnd()}\n${END}\nbelow, by hand\n`);
  });

  test('twice: the second run changes nothing, not even an mtime', () => {
    const r = repo();
    writeFileSync(join(r.dir, 'CLAUDE.md'), '# Claude\r\n');
    prime(r.dir);
    const past = new Date(Date.now() - 60_000);
    for (const file of ['AGENTS.md', 'CLAUDE.md']) utimesSync(join(r.dir, file), past, past);
    const before = ['AGENTS.md', 'CLAUDE.md'].map((file) => [bytes(r.dir, file), statSync(join(r.dir, file)).mtimeMs] as const);
    assert.equal(prime(r.dir).stdout, 'AGENTS.md: unchanged\nCLAUDE.md: unchanged\n');
    ['AGENTS.md', 'CLAUDE.md'].forEach((file, i) => {
      assert.deepEqual(bytes(r.dir, file), before[i]![0]);
      assert.equal(statSync(join(r.dir, file)).mtimeMs, before[i]![1]);
    });
  });

  test('--print prints the section and writes nothing', () => {
    const r = repo();
    writeFileSync(join(r.dir, 'CLAUDE.md'), '# Claude\n');
    const run = prime(r.dir, ['--print']);
    assert.equal(run.stdout, `${START}\n${TEMPLATE.trimEnd()}\n${END}\n`);
    assert.ok(!existsSync(join(r.dir, 'AGENTS.md')));
    assert.equal(r.read('CLAUDE.md'), '# Claude\n');
    assert.deepEqual(prime(r.dir, ['--print', '--json']).json!.result, { printed: run.stdout });
  });

  test('at the root of the checkout it runs in, from a subfolder too; CLAUDE.md linked to AGENTS.md is one file', () => {
    const r = repo();
    mkdirSync(join(r.dir, 'src', 'deep'), { recursive: true });
    writeFileSync(join(r.dir, 'AGENTS.md'), '# Agents\n');
    symlinkSync('AGENTS.md', join(r.dir, 'CLAUDE.md'));
    const result = prime(join(r.dir, 'src', 'deep'), ['--json']).json!.result;
    assert.deepEqual(result.files, [{ file: 'AGENTS.md', state: 'updated' }, { file: 'CLAUDE.md', state: 'unchanged' }]);
    assert.ok(!existsSync(join(r.dir, 'src', 'deep', 'AGENTS.md')));
  });

  test('broken markers, a link out of the repository, no repository: exit 2, nothing written', () => {
    const r = repo();
    writeFileSync(join(r.dir, 'AGENTS.md'), `# Agents\n${START}\n`);
    const run = prime(r.dir, ['--json'], 2);
    assert.equal(run.json!.error!.code, 'EMARKERS');
    assert.match(run.json!.error!.message, /^AGENTS\.md:2: /);
    assert.equal(r.read('AGENTS.md'), `# Agents\n${START}\n`);
    // CLAUDE.md a link to another repository's file: refused, and AGENTS.md not written either.
    const other = repo();
    writeFileSync(join(other.dir, 'AGENTS.md'), 'theirs\n');
    symlinkSync(join(other.dir, 'AGENTS.md'), join(r.dir, 'CLAUDE.md'));
    writeFileSync(join(r.dir, 'AGENTS.md'), '# Agents\n');
    assert.match(prime(r.dir, ['--json'], 2).json!.error!.message, /^CLAUDE\.md: refusing to write: is a symlink that leads outside the repository/);
    assert.equal(r.read('AGENTS.md'), '# Agents\n');
    assert.equal(other.read('AGENTS.md'), 'theirs\n');
    // Outside any repository: a usage error too.
    const bare = join(other.dir, '..', `not-a-repo-${process.pid}`);
    mkdirSync(bare, { recursive: true });
    try {
      assert.equal(prime(bare, ['--json'], 2).json!.error!.code, 'ENOREPO');
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
