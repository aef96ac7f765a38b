// `guild-fs mcp` (SPEC section 10) through a real MCP client: the SDK's Client over its stdio
// transport spawns the built CLI, as Claude Code, Codex or Cursor do. Every tool, errors as tool
// results carrying the CLI's code, claim races against a second server and the CLI, a killed
// server's claim healed, and stdout holding nothing but protocol messages.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, cli, cliAsync } from './helpers/cli.js';
import { eventsOf, lockDir, outsideAnyRepo, ownerJson, placeOf, repoFor } from './helpers/cli-cases.js';
import { git, IDENTITY } from './helpers/clones.js';
import { alive } from './helpers/fake-agent.js';
import { connectMcp, type McpSession } from './helpers/mcp-client.js';
import { waitFor } from './helpers/daemon.js';
import type { TempRepo } from './helpers/repo.js';

const TOOLS = ['add', 'claim', 'complete', 'fail', 'log', 'ready', 'release', 'show'];

/** The example board, committed (worktrees need a commit), with git's identity for the commits guild-fs makes. */
function committedExample(t: TestContext): TempRepo {
  const repo = repoFor(t);
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', 'start');
  return repo;
}

async function session(t: TestContext, repo: TempRepo, agent?: string): Promise<McpSession> {
  const opened = await connectMcp(repo.dir, { agent, env: IDENTITY });
  t.after(() => opened.close());
  return opened;
}

describe('guild-fs mcp', { concurrency: false }, () => {
  test('tools/list: eight tools, each with an object schema, the whole answer under 8 KiB', async (t) => {
    const repo = repoFor(t);
    const mcp = await session(t, repo, 'a');
    const listed = await mcp.client.listTools();
    assert.deepEqual(listed.tools.map((tool) => tool.name).sort(), TOOLS);
    for (const tool of listed.tools) {
      assert.equal(tool.inputSchema.type, 'object', tool.name);
      assert.ok(tool.description && tool.description.length < 300, `${tool.name}: a short description`);
    }
    const bytes = Buffer.byteLength(JSON.stringify(listed));
    t.diagnostic(`tools/list: ${bytes} bytes of JSON`);
    assert.ok(bytes < 8 * 1024, `tools/list is ${bytes} bytes`);
    assert.match(mcp.client.getInstructions() ?? '', /claim/);
  });

  test('each tool does what its CLI command does, with the same events', async (t) => {
    const repo = committedExample(t);
    const mcp = await session(t, repo, 'host-a');

    const added = await mcp.call('add', { title: 'Write the docs', body: 'Say how to install.', prio: 'high' });
    assert.equal(added.isError, false, added.text);
    assert.equal(added.data.id, 'GLD-7');
    assert.match(added.text, /GLD-7/);

    const ready = await mcp.call('ready');
    assert.equal(ready.isError, false, ready.text);
    assert.deepEqual(ready.data.tasks.map((task: { id: string }) => task.id), cli(['ready', '--json'], { cwd: repo.dir }).json!.result.tasks.map((task: { id: string }) => task.id));

    const claimed = await mcp.call('claim', { id: 'GLD-5' });
    assert.equal(claimed.isError, false, claimed.text);
    assert.equal(claimed.data.task.owner, 'host-a');
    assert.ok(existsSync(claimed.data.worktree.path), 'the worktree is made');
    // Bound to the server's process: a host that dies leaves a claim that is stale on proof.
    assert.equal(ownerJson(repo, 'GLD-5').pid, mcp.pid);
    assert.equal(eventsOf(repo, 'task.claimed', 'GLD-5')[0]!.agent, 'host-a');

    const shown = await mcp.call('show', { id: 'GLD-5' });
    assert.equal(shown.data.task.status, 'in-progress');
    assert.equal(shown.data.task.owner, 'host-a');

    const logged = await mcp.call('log', { task: 'GLD-5' });
    assert.deepEqual(logged.data.events.map((event: { type: string }) => event.type), ['task.created', 'task.claimed', 'worktree.created']);
    assert.match(logged.text, /task\.claimed/);

    const completed = await mcp.call('complete', { id: 'GLD-5', note: 'shipped' });
    assert.equal(completed.isError, false, completed.text);
    assert.equal(placeOf(repo, 'GLD-5')?.section, 'Done');

    // The agent as a tool argument, where a host cannot set GUILD_AGENT; then fail and release.
    const other = await mcp.call('claim', { id: 'GLD-3', agent: 'host-b', worktree: false });
    assert.equal(other.data.task.owner, 'host-b');
    const failed = await mcp.call('fail', { id: 'GLD-3', reason: 'the database is down', agent: 'host-b' });
    assert.equal(failed.isError, false, failed.text);
    assert.equal(eventsOf(repo, 'task.failed', 'GLD-3')[0]!.agent, 'host-b');

    await mcp.call('claim', { id: 'GLD-2', worktree: false });
    const released = await mcp.call('release', { id: 'GLD-2' });
    assert.equal(released.isError, false, released.text);
    assert.equal(placeOf(repo, 'GLD-2')?.section, 'Ready');
    assert.equal(existsSync(lockDir(repo, 'GLD-2')), false);

    const limited = await mcp.call('log', { limit: 2, type: 'task.released,task.failed' });
    assert.deepEqual(limited.data.events.map((event: { type: string }) => event.type), ['task.failed', 'task.released']);

    const replay = cli(['replay', '--check'], { cwd: repo.dir });
    assert.equal(replay.code, 0, replay.stdout + replay.stderr);
  });

  test('errors are tool results with isError and the CLI\'s code, message and exit code', async (t) => {
    const repo = repoFor(t);
    const mcp = await session(t, repo, 'a');
    const held = cli(['claim', 'GLD-5', '--no-worktree', '--json'], { cwd: repo.dir, agent: 'cli-agent' });
    assert.equal(held.code, 0, held.stderr);

    const cases: [string, Record<string, unknown>, string, number][] = [
      ['claim', { id: 'GLD-5', worktree: false }, 'EHELD', 3],
      ['show', { id: 'GLD-99' }, 'ENOTASK', 4],
      ['show', { id: 'not an id' }, 'EBADID', 2],
      ['show', {}, 'EUSAGE', 2],
      ['show', { id: 5 }, 'EUSAGE', 2],
      ['fail', { id: 'GLD-5' }, 'EUSAGE', 2],
      ['ready', { caps: 'db', colour: 'red' }, 'EUSAGE', 2],
      ['add', { title: 'x', prio: 'urgent' }, 'EUSAGE', 2],
      ['log', { limit: 0 }, 'EUSAGE', 2],
      ['claim', { agent: 'has space' }, 'EBADAGENT', 2],
      ['complete', { id: 'GLD-5' }, 'EHELD', 3],
      ['fly', {}, 'ENOTOOL', 2],
    ];
    for (const [tool, args, code, exitCode] of cases) {
      const result = await mcp.call(tool, args);
      assert.equal(result.isError, true, `${tool} ${JSON.stringify(args)}: ${result.text}`);
      assert.equal(result.data.error.code, code, `${tool} ${JSON.stringify(args)}: ${result.text}`);
      assert.equal(result.data.error.exitCode, exitCode, `${tool} ${JSON.stringify(args)}`);
      assert.ok(result.text.startsWith(`${code}: `), result.text);
    }
    assert.match((await mcp.call('claim', { agent: 'has space' })).text, /the agent argument/);

    // A server with no GUILD_AGENT: acting tools ask for the agent; queries need none.
    const anonymous = await session(t, repo);
    const noAgent = await anonymous.call('claim', { worktree: false });
    assert.equal(noAgent.data.error.code, 'ENOAGENT');
    assert.equal((await anonymous.call('ready')).isError, false);
    assert.equal(placeOf(repo, 'GLD-5')?.line.includes('owner:cli-agent'), true, 'nothing changed the held task');

    // `guild-fs mcp --agent NAME` names the agent of calls that name none.
    const named = await connectMcp(repo.dir, { args: ['--agent', 'named-host'] });
    t.after(() => named.close());
    assert.equal((await named.call('claim', { id: 'GLD-3', worktree: false })).data.task.owner, 'named-host');
  });

  test('claim races between two MCP servers and a CLI claim: exactly one wins each time', async (t) => {
    const trials = 12;
    const board = ['---', 'guild: 1', 'prefix: T', '---', '# Active Tasks', '', '## Ready', ...Array.from({ length: trials }, (_, i) => `- [ ] T-${i + 1} Task ${i + 1}`), '', '## In Progress', '', '## Done', ''].join('\n');
    const repo = repoFor(t, board);
    const [one, two] = await Promise.all([session(t, repo, 'mcp-1'), session(t, repo, 'mcp-2')]);
    for (let trial = 1; trial <= trials; trial++) {
      const id = `T-${trial}`;
      const [a, b, c] = await Promise.all([
        one.call('claim', { id, worktree: false }),
        two.call('claim', { id, worktree: false }),
        cliAsync(['claim', id, '--no-worktree', '--json'], { cwd: repo.dir, agent: 'cli' }),
      ]);
      const winners = [!a.isError && 'mcp-1', !b.isError && 'mcp-2', c.code === 0 && 'cli'].filter(Boolean);
      assert.equal(winners.length, 1, `${id}: winners ${winners.join(', ')}: ${a.text} | ${b.text} | ${c.stdout}`);
      for (const loser of [a, b].filter((result) => result.isError)) assert.equal(loser.data.error.code, 'EHELD', loser.text);
      if (c.code !== 0) assert.equal(c.json?.error?.code, 'EHELD', c.stdout);
      assert.equal(ownerJson(repo, id).agent, winners[0]);
      assert.equal(eventsOf(repo, 'task.claimed', id).length, 1);
    }
    const replay = cli(['replay', '--check'], { cwd: repo.dir });
    assert.equal(replay.code, 0, replay.stdout + replay.stderr);
  });

  test('a killed server leaves a claim that heal requeues', async (t) => {
    const repo = repoFor(t);
    const mcp = await session(t, repo, 'doomed');
    const claimed = await mcp.call('claim', { id: 'GLD-5', worktree: false });
    assert.equal(claimed.isError, false, claimed.text);
    process.kill(mcp.pid, 'SIGKILL');
    await waitFor('the server to die', () => !alive(mcp.pid));
    const heal = cli(['heal', '--json'], { cwd: repo.dir });
    assert.equal(heal.code, 0, heal.stderr);
    assert.equal(placeOf(repo, 'GLD-5')?.section, 'Ready');
    assert.equal(eventsOf(repo, 'lock.healed', 'GLD-5').length, 1);
    assert.equal(existsSync(lockDir(repo, 'GLD-5')), false);
  });

  test('a live server keeps its claims fresh past lock_ttl; finished through it, they are let go', async (t) => {
    const repo = repoFor(t);
    repo.write(repo.read().replace('lock_ttl: 1h', 'lock_ttl: 4s'));
    assert.match(repo.read(), /lock_ttl: 4s/);
    const mcp = await session(t, repo, 'keeper');
    const claimed = await mcp.call('claim', { id: 'GLD-5', worktree: false });
    assert.equal(claimed.isError, false, claimed.text);
    const acquired = ownerJson(repo, 'GLD-5').heartbeat as string;
    // Past lock_ttl: without heartbeats heal would break the lock (its holder's pid is alive, but silent).
    await waitFor('two heartbeats', () => Date.parse(ownerJson(repo, 'GLD-5').heartbeat) >= Date.parse(acquired) + 2_000, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    const heal = cli(['heal', '--json'], { cwd: repo.dir });
    assert.equal(heal.code, 0, heal.stderr);
    assert.equal(placeOf(repo, 'GLD-5')?.section, 'In Progress', 'the claim is kept');
    assert.equal(eventsOf(repo, 'lock.healed', 'GLD-5').length, 0);
    const completed = await mcp.call('complete', { id: 'GLD-5' });
    assert.equal(completed.isError, false, completed.text);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.doesNotMatch(mcp.stderr(), /heartbeat of GLD-5 failed/, 'no heartbeat for a finished task');
  });

  test('stdout holds protocol messages only; a host that closes stdin at once still gets its answer', async (t) => {
    const repo = repoFor(t);
    const child = spawn(process.execPath, [BIN, 'mcp'], { cwd: repo.dir, env: { ...process.env, GUILD_AGENT: 'piped', GUILD_VERIFY_CACHE: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const requests = [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      // No commit yet: the claim is made without a worktree, and says so in a note.
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'claim', arguments: {} } },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'log', arguments: { limit: 1 } } },
    ];
    child.stdin.end(requests.map((request) => JSON.stringify(request)).join('\n') + '\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    const messages = stdout.trim().split('\n').map((line) => JSON.parse(line) as { jsonrpc: string; id: number; result: any });
    assert.ok(messages.every((message) => message.jsonrpc === '2.0'));
    assert.deepEqual(messages.map((message) => message.id).sort(), [1, 2, 3]);
    const claim = messages.find((message) => message.id === 2)!;
    assert.equal(claim.result.isError, undefined, JSON.stringify(claim));
    assert.match(claim.result.content[0].text, /claimed: GLD-2/);
    assert.match(claim.result.content[0].text, /no commit yet/);
    assert.match(stderr, /guild-fs mcp: serving/);
    assert.equal(placeOf(repo, 'GLD-2')?.section, 'In Progress');
  });

  test('started outside a repository, or with a bad GUILD_AGENT: exit 2 with the reason on stderr', async (t) => {
    const repo = repoFor(t);
    const bad = cli(['mcp'], { cwd: repo.dir, agent: 'no spaces allowed' });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /GUILD_AGENT/);
    assert.equal(bad.stdout, '');
    const outside = cli(['mcp'], { cwd: outsideAnyRepo(t) });
    assert.equal(outside.code, 2, outside.stderr);
    assert.equal(outside.stdout, '');
    assert.ok(readFileSync(repo.board, 'utf8').length > 0);
  });
});
