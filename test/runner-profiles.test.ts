// Worker profiles (front matter `agents:`, issue 12 item 4): every bad value is refused with the
// file:line a person fixes, by the built CLI; a good one gives the runner the profiles it starts;
// and a profile's command is a board command, run only where this clone trusted it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, type CliResult } from './helpers/cli.js';
import { boardWith } from './helpers/git-repo.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';
import { readFrontMatter } from '../src/board/front-matter.js';
import { GuildError } from '../src/errors.js';
import { loadBoard, openGuild } from '../src/tasks/guild.js';
import { profilesToRun, requireProfilesTrusted, workerNames } from '../src/runner/profiles.js';

function repoWith(t: { after(fn: () => void): void }, front: string[]): TempRepo {
  const repo = tempRepo(boardWith(front, ['- [ ] GLD-1 Add the login form']));
  t.after(() => repo.remove());
  return repo;
}

function ok(result: CliResult, what: string): any {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.json?.result;
}

async function settingsOf(front: string[]) {
  const lines = boardWith(front, []).split('\n');
  return (await readFrontMatter('ACTIVE_TASKS.md', lines)).settings;
}

// Each: the front matter lines after `prefix: GLD` (file line 4 on), the line the error names, what it says.
const BAD: { name: string; front: string[]; line: number; message: RegExp }[] = [
  { name: 'a list, not a mapping', front: ['agents:', '  - claude'], line: 4, message: /agents: must map profile names/ },
  { name: 'a string', front: ['agents: claude'], line: 4, message: /agents: must map profile names/ },
  { name: 'a profile that is not a mapping', front: ['agents:', '  claude: claude -p'], line: 5, message: /agents\.claude: must be a mapping/ },
  { name: 'no command', front: ['agents:', '  claude:', '    caps: [docs]'], line: 5, message: /agents\.claude: names no command/ },
  { name: 'an empty command', front: ['agents:', '  claude:', '    command: ""'], line: 6, message: /agents\.claude\.command: names no command/ },
  { name: 'an empty argv list', front: ['agents:', '  claude:', '    command: []'], line: 6, message: /agents\.claude\.command: names no command/ },
  { name: 'a command that is a number', front: ['agents:', '  claude:', '    command: 42'], line: 6, message: /agents\.claude\.command: must be a command line/ },
  { name: 'an argv with a non-string', front: ['agents:', '  claude:', '    command: [claude, 1]'], line: 6, message: /agents\.claude\.command: must be a command line/ },
  { name: 'an unclosed quote', front: ['agents:', '  claude:', '    command: claude -p "oops'], line: 6, message: /agents\.claude\.command: unclosed "/ },
  { name: 'an unknown key', front: ['agents:', '  claude:', '    command: claude', '    paralel: 2'], line: 7, message: /agents\.claude\.paralel: unknown key \(a profile has command, caps, parallel, allow_empty, unavailable\)/ },
  { name: 'allow_empty not a boolean', front: ['agents:', '  claude:', '    command: claude', '    allow_empty: sometimes'], line: 7, message: /agents\.claude\.allow_empty: must be true or false, got "sometimes"/ },
  { name: 'unavailable as a number', front: ['agents:', '  claude:', '    command: claude', '    unavailable: 3'], line: 7, message: /agents\.claude\.unavailable: must be a list of patterns/ },
  { name: 'an unavailable regexp that is none', front: ['agents:', '  claude:', '    command: claude', '    unavailable: ["/(unclosed/"]'], line: 7, message: /agents\.claude\.unavailable: "\/\(unclosed\/" is not a regular expression/ },
  { name: 'parallel 0', front: ['agents:', '  claude:', '    command: claude', '    parallel: 0'], line: 7, message: /agents\.claude\.parallel: must be a whole number from 1 to 64, got 0/ },
  { name: 'parallel 1.5', front: ['agents:', '  claude:', '    command: claude', '    parallel: 1.5'], line: 7, message: /got 1\.5/ },
  { name: 'parallel past the bound', front: ['agents:', '  claude:', '    command: claude', '    parallel: 65'], line: 7, message: /got 65/ },
  { name: 'parallel as a string', front: ['agents:', '  claude:', '    command: claude', '    parallel: "2"'], line: 7, message: /got "2"/ },
  { name: 'a bad capability', front: ['agents:', '  claude:', '    command: claude', '    caps: [docs, "front end"]'], line: 7, message: /agents\.claude\.caps: "front end" is not a capability name/ },
  { name: 'caps as a mapping', front: ['agents:', '  claude:', '    command: claude', '    caps: {docs: true}'], line: 7, message: /agents\.claude\.caps: must be a list/ },
  { name: 'a name that is no agent name', front: ['agents:', '  "claude/x":', '    command: claude'], line: 5, message: /agents\.claude\/x: a profile name is/ },
  // The second profile's bad key is found under the second profile, not the first's same key.
  { name: 'the error in the second profile', front: ['agents:', '  a:', '    command: x', '    parallel: 2', '  b:', '    command: y', '    parallel: -1'], line: 10, message: /agents\.b\.parallel: .* got -1/ },
];

describe('bad agents: values are refused with file:line (exit 2)', () => {
  for (const { name, front, line, message } of BAD) {
    test(name, (t) => {
      const repo = repoWith(t, front);
      const result = cli(['list', '--json'], { cwd: repo.dir });
      assert.equal(result.code, 2, `${result.stdout}\n${result.stderr}`);
      assert.equal(result.json!.error!.code, 'EFRONTMATTER');
      assert.ok(result.json!.error!.message.startsWith(`ACTIVE_TASKS.md:${line}: front matter agents`), result.json!.error!.message);
      assert.match(result.json!.error!.message, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    });
  }
});

describe('the profiles the runner starts', () => {
  const FRONT = ['agents:', '  claude:', '    command: claude -p "{prompt}" --verbose', '    caps: frontend, docs', '    parallel: 2', '  codex:', '    command: [codex, exec, "a b"]', '    allow_empty: true'];

  test('all of them in the board\'s order, or the one named; commands split without a shell; defaults', async () => {
    const settings = await settingsOf(FRONT);
    const all = profilesToRun(settings);
    assert.deepEqual(all, [
      { name: 'claude', command: ['claude', '-p', '{prompt}', '--verbose'], caps: ['frontend', 'docs'], parallel: 2, allowEmpty: false },
      { name: 'codex', command: ['codex', 'exec', 'a b'], caps: null, parallel: 1, allowEmpty: true },
    ]);
    assert.deepEqual(profilesToRun(settings, { profile: 'codex' }).map((p) => p.name), ['codex']);
    assert.deepEqual(workerNames(all[0]!), ['claude-1', 'claude-2']);
    // caps: [] is said on purpose: only tasks that need no capability (no caps: key is no filter, as without --caps).
    assert.deepEqual(profilesToRun(await settingsOf(['agents:', '  plain:', '    command: x', '    caps: []']))[0]!.caps, []);
  });

  test('an unknown profile name, or none on the board: exit 2 naming what there is', async () => {
    const settings = await settingsOf(FRONT);
    assert.throws(() => profilesToRun(settings, { profile: 'gemini' }), (error: GuildError) => error.exitCode === 2 && error.code === 'EPROFILE' && /no worker profile named "gemini"; the board's: claude, codex/.test(error.message));
    const none = await settingsOf([]);
    assert.throws(() => profilesToRun(none), (error: GuildError) => error.exitCode === 2 && /names no worker profiles/.test(error.message));
    assert.throws(() => profilesToRun(none, { profile: 'claude' }), (error: GuildError) => error.exitCode === 2 && /the board names none/.test(error.message));
  });
});

describe('trust covers the profiles\' commands', () => {
  test('untrusted: refused at the line of its command; trusted: passes; changed or renamed: refused again', async (t) => {
    const repo = repoWith(t, ['verify: npm test', 'agents:', '  claude:', '    command: claude -p', '  codex:', '    command: codex exec']);
    const check = async (profile?: string) => {
      const guild = openGuild(repo.dir);
      const board = await loadBoard(guild);
      requireProfilesTrusted(guild, board, profilesToRun(board.settings, { profile }));
    };
    await assert.rejects(check(), (error: GuildError) => {
      assert.equal(error.code, 'EUNTRUSTED');
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /^ACTIVE_TASKS\.md:7: agents\.claude and agents\.codex are not trusted in this clone; run claimed nothing and ran nothing:/);
      assert.match(error.message, /agents\.claude would run \["claude","-p"\]/);
      return true;
    });
    // doctor says so too, naming what refuses to run it.
    const doctor = cli(['doctor', '--json'], { cwd: repo.dir });
    assert.match(JSON.stringify(doctor.json), /agents\.codex \[\\"codex\\",\\"exec\\"\] is not trusted in this clone: run refuses to run it/);

    const trusted = ok(cli(['trust', '--json'], { cwd: repo.dir }), 'trust');
    assert.deepEqual(trusted.commands.map((c: { key: string; was: string }) => [c.key, c.was]), [['verify', 'new'], ['agents.claude', 'new'], ['agents.codex', 'new']]);
    assert.match(cli(['trust'], { cwd: repo.dir }).stdout, /trusted agents\.codex: \["codex","exec"\] \(already trusted\)/);
    await check();

    // A changed command: only that profile is refused, at its own command line.
    repo.write(repo.read().replace('codex exec', 'codex exec --yolo'));
    await check('claude');
    await assert.rejects(check('codex'), (error: GuildError) => /^ACTIVE_TASKS\.md:9: agents\.codex is not trusted in this clone; .*\n  agents\.codex changed since this clone trusted it: it would run \["codex","exec","--yolo"\] \(trusted: \["codex","exec"\]\)/.test(error.message));
    // The same command under another name is another key: trusting claude's did not trust it.
    repo.write(repo.read().replace('  claude:', '  claude2:'));
    await assert.rejects(check('claude2'), (error: GuildError) => /agents\.claude2 is not trusted/.test(error.message));

    const again = ok(cli(['trust', '--json'], { cwd: repo.dir }), 'trust again');
    assert.deepEqual(again.dropped, ['agents.claude'], 'a profile no longer on the board is forgotten');
    await check();
    assert.deepEqual(ok(cli(['trust', '--revoke', '--json'], { cwd: repo.dir }), 'revoke').dropped, ['verify', 'agents.claude2', 'agents.codex']);
    await assert.rejects(check(), (error: GuildError) => error.code === 'EUNTRUSTED');
  });
});
