// A remote that accepts the connection and then says nothing (a hung server, a dead link behind
// a proxy) must not hang a claim, a query or a sync: every network git call gives up after
// GUILD_REMOTE_TIMEOUT (60 s by default), and the command exits 7 with nothing done, as for a
// remote that refuses the connection.
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from './helpers/cli.js';
import { git, IDENTITY } from './helpers/clones.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

let server: Server;
let port = 0;
const sockets = new Set<Socket>();

before(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

after(() => {
  for (const socket of sockets) socket.destroy();
  server.close();
});

function silentRemoteClone(t: { after(fn: () => void): void }): TempRepo {
  const repo = tempRepo(['---', 'guild: 1', 'prefix: GLD', 'remote: origin', '---', '# Active Tasks', '', '## Ready', '- [ ] GLD-1 One', '', '## In Progress', '', '## Done', ''].join('\n'));
  t.after(() => repo.remove());
  assert.equal(cli(['init'], { cwd: repo.dir }).code, 0);
  git(repo.dir, 'add', '-A');
  git(repo.dir, 'commit', '-q', '-m', 'seed');
  git(repo.dir, 'remote', 'add', 'origin', `git://127.0.0.1:${port}/guild.git`);
  return repo;
}

const env = { ...IDENTITY, GUILD_REMOTE_TIMEOUT: '1s' };

test('a silent remote: claim, ready and sync --remote give up after GUILD_REMOTE_TIMEOUT with exit 7 and nothing done', (t) => {
  const repo = silentRemoteClone(t);
  const board = repo.read();
  for (const args of [['claim', 'GLD-1', '--no-worktree'], ['ready'], ['next'], ['sync', '--remote']]) {
    const result = cli([...args, '--json'], { cwd: repo.dir, agent: 'a', env });
    assert.equal(result.code, 7, `${args.join(' ')}: ${result.stdout}${result.stderr}`);
    assert.equal(result.json?.error?.code, 'EREMOTE');
    assert.match(result.json!.error!.message, /timed out after 1 s with no answer/);
  }
  assert.equal(repo.read(), board, 'the board is as it was');
  assert.equal(existsSync(join(repo.dir, '.git', 'guild', 'locks', 'GLD-1.lock')), false, 'no lock left');
  // --offline still works without the remote.
  const offline = cli(['claim', 'GLD-1', '--no-worktree', '--offline', '--json'], { cwd: repo.dir, agent: 'a', env });
  assert.equal(offline.code, 0, offline.stderr);
});
