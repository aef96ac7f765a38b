// guild-fs as a person gets it before it is on the registry: `npm pack` of this checkout, the
// tarball installed into a temp folder with npm, and from there (never from this checkout) the
// quick start's demo run, `guild-fs mcp` under Claude Code's `claude mcp list`, and the workflow
// `init --ci` writes, each step of it run in a fresh clone of a project that depends on the
// tarball (committed in the project, as the README says). What the tarball lacks (a file left out of `files`, a dependency only devDependencies
// had, a path into the source tree) fails here and nowhere else.
//
// `npm pack --ignore-scripts`: `npm test` has built dist/ already, and the `prepare` build would
// rewrite dist/ under the other test files running beside this one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GIT_ENV, git } from './helpers/git-repo.js';
import { claudeEnv } from './helpers/model-anthropic.js';
import { agentCliBin, toolsMissing } from './helpers/test-tools.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
const TARBALL = `guild-fs-${VERSION}.tgz`;

let home: string;
/** The folder the tarball was installed into, as `npm install <tarball>` made it. */
let app: string;
let guildFs: string;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, env: { ...GIT_ENV, ...env }, encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function ok(result: { code: number; stdout: string; stderr: string }, what: string): string {
  assert.equal(result.code, 0, `${what} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result.stdout;
}

function gitRepo(dir: string): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  return dir;
}

before(() => {
  home = mkdtempSync(join(tmpdir(), 'guild-fs-package-'));
  ok(run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', home], ROOT), 'npm pack');
  app = join(home, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, version: '1.0.0' }, null, 2)}\n`);
  // As the README says for a project: the tarball committed in the project, installed from there.
  mkdirSync(join(app, 'vendor'));
  copyFileSync(join(home, TARBALL), join(app, 'vendor', TARBALL));
  ok(run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', '--save-dev', `./vendor/${TARBALL}`], app), 'npm install of the tarball');
  guildFs = join(app, 'node_modules', '.bin', 'guild-fs');
});
after(() => rmSync(home, { recursive: true, force: true }));

describe('the packed tarball, installed', () => {
  test('holds what it runs and nothing of the source tree', () => {
    const files = execFileSync('tar', ['tzf', join(home, TARBALL)], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const needed of ['package/bin/guild-fs.js', 'package/dist/cli.cjs', 'package/dist/guild-fs.cjs', 'package/templates/demo-agent.mjs', 'package/templates/prompt.md', 'package/README.md']) {
      assert.ok(files.includes(needed), `${needed} in the tarball:\n${files.join('\n')}`);
    }
    assert.deepEqual(files.filter((file) => /^package\/(src|test|bench|scripts|\.guild)\//.test(file) || file.endsWith('ACTIVE_TASKS.md') && !file.startsWith('package/templates/')), []);
    assert.match(ok(run(guildFs, ['--version'], home), 'guild-fs --version'), new RegExp(VERSION.replaceAll('.', '\\.')));
  });

  test('the quick start: a demo board driven to the end by three agents', () => {
    const demo = gitRepo(join(home, 'demo'));
    ok(run(guildFs, ['init', '--demo', '--cwd', demo], home), 'init --demo');
    git(demo, 'add', '-A');
    git(demo, 'commit', '-qm', 'guild-fs demo');
    const agent = join(app, 'node_modules', 'guild-fs', 'templates', 'demo-agent.mjs');
    const ran = run(guildFs, ['run', '--parallel', '3', '--cwd', demo, '--', process.execPath, agent], home);
    ok(ran, 'run --parallel 3');
    const listed = JSON.parse(ok(run(guildFs, ['list', '--json', '--cwd', demo], home), 'list')).result.tasks as { id: string; status: string }[];
    assert.ok(listed.length >= 9, `the demo board has its tasks: ${listed.length}`);
    assert.deepEqual(listed.filter((task) => task.status !== 'done'), [], ran.stdout);
    rmSync(`${demo}.worktrees`, { recursive: true, force: true });
  });

  test('init --ci in a project that depends on the tarball: every step of its workflow passes in a fresh clone', () => {
    writeFileSync(join(app, '.gitignore'), 'node_modules/\n');
    gitRepo(app);
    ok(run(guildFs, ['init', '--example', '--ci'], app), 'init --example --ci');
    git(app, 'add', '-A');
    git(app, 'commit', '-qm', 'guild-fs with its CI workflow');
    const workflow = readFileSync(join(app, '.github', 'workflows', 'guild-fs.yml'), 'utf8');
    const steps = [...workflow.matchAll(/^\s*- run: (.+)$/gm)].map((match) => match[1]!);
    assert.deepEqual(steps, ['npm ci', 'npx guild-fs replay --check'], workflow);
    const clone = mkdtempSync(join(tmpdir(), 'guild-fs-ci-checkout-'));
    try {
      git(home, 'clone', '-q', app, clone);
      for (const step of steps) ok(run('sh', ['-c', step], clone), `the workflow step "${step}"`);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});

const claude = agentCliBin('claude');
describe('guild-fs mcp from the tarball under Claude Code', { skip: toolsMissing('Claude Code (the agents test tools)', claude ? [] : ['claude']) }, () => {
  test('claude mcp add, then claude mcp list reports guild-fs connected', () => {
    const config = mkdtempSync(join(tmpdir(), 'guild-fs-claude-'));
    try {
      const project = gitRepo(join(home, 'mcp-project'));
      ok(run(guildFs, ['init', '--example'], project), 'init --example');
      // Claude's config and home of its own, as the recipe tests give it, with no model: what it
      // would send goes to a port nothing listens on. The installed guild-fs first on PATH.
      const env = { ...claudeEnv(config, 'http://127.0.0.1:9'), PATH: `${dirname(guildFs)}:${process.env.PATH}` };
      ok(run(claude!, ['mcp', 'add', 'guild-fs', '--env', 'GUILD_AGENT=claude', '--', 'guild-fs', 'mcp'], project, env), 'claude mcp add');
      const listed = ok(run(claude!, ['mcp', 'list'], project, env), 'claude mcp list');
      assert.match(listed, /^guild-fs: guild-fs mcp - .*Connected/m, listed);
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });
});
