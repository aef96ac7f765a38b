// A real git server for tests of the remote (SPEC section 7): `git daemon` on 127.0.0.1 with
// receive-pack on, serving bare repositories from a temp folder, started and stopped by the test.
// Clones made here speak git:// to it; `fileUrl` gives the same repository over file:// for
// the tests that run against both.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GitServer {
  /** The folder the daemon serves: bare repositories are made in it. */
  root: string;
  port: number;
  /** git://127.0.0.1:<port>/<name>: the URL of a bare repository `name` under root. */
  url(name: string): string;
  /** file:// URL of the same repository. */
  fileUrl(name: string): string;
  /** Makes an empty bare repository `name` (main as its default branch). */
  bare(name: string): string;
  /** The folder of the bare repository a url() or fileUrl() names. */
  pathOf(url: string): string;
  /** Stops the daemon (a clone's next push or fetch finds nothing listening). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop). */
  start(): Promise<void>;
  /** Stops it and removes root. */
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const DAEMON = join(spawnSync('git', ['--exec-path'], { encoding: 'utf8' }).stdout.trim(), 'git-daemon');

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startGitServer(): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), 'guild-server-'));
  let port = 0;
  let daemon: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) return; // running already
    for (let attempt = 0; attempt < 5; attempt++) {
      port ||= await freePort();
      // git-daemon itself, not `git daemon`: git runs its dashed programs as a child, and a stop
      // that killed only that parent would leave the server listening.
      const child = spawn(
        DAEMON,
        ['--reuseaddr', '--export-all', '--enable=receive-pack', '--informative-errors', `--base-path=${root}`, '--listen=127.0.0.1', `--port=${port}`, root],
        // Its own process group: the children it forks per connection go with it on stop.
        { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
      );
      let exited = false;
      child.once('exit', () => void (exited = true));
      child.stderr!.resume();
      for (let i = 0; i < 200 && !exited; i++) {
        // Answering, and by this child: one that lost the port to another listener exits.
        if ((await accepting(port)) && !exited) {
          await pause(50);
          if (exited) break;
          daemon = child;
          return;
        }
        await pause(25);
      }
      child.kill('SIGKILL');
      port = 0; // taken by someone else meanwhile: another port
    }
    throw new Error('git daemon did not start');
  };

  const stop = async (): Promise<void> => {
    const child = daemon;
    daemon = null;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const signal = (name: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, name);
      } catch {
        // The group is gone already.
      }
    };
    signal('SIGTERM');
    await Promise.race([gone, pause(2000)]);
    signal('SIGKILL');
    // git daemon forks a child per connection; the listener is what must be gone.
    for (let i = 0; i < 100 && (await accepting(port)); i++) await pause(20);
    if (await accepting(port)) throw new Error(`git daemon still listening on ${port} after stop`);
  };

  await launch();
  return {
    root,
    get port() {
      return port;
    },
    url: (name) => `git://127.0.0.1:${port}/${name}`,
    fileUrl: (name) => `file://${join(root, name)}`,
    bare(name) {
      const path = join(root, name);
      const made = spawnSync('git', ['init', '-q', '--bare', '-b', 'main', path], { encoding: 'utf8' });
      if (made.status !== 0) throw new Error(`git init --bare failed: ${made.stderr}`);
      return path;
    },
    pathOf: (url) => join(root, url.split('/').pop()!),
    stop,
    start: launch,
    async close() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
