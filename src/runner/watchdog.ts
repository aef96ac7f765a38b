// What makes sure no agent outlives a runner killed with SIGKILL. Each agent runs in a process
// group of its own (so that a timeout or a stop reaches its children too, and a Ctrl-C at the
// terminal reaches the runner alone); a SIGKILLed runner cannot signal those groups. So the runner
// starts one small watchdog process for the whole run and tells it, over a pipe, which groups are
// live ("+PGID" / "-PGID" lines). When the pipe reaches EOF without a last "exit" line, the runner
// is gone: the watchdog sends SIGTERM to every live group, SIGKILL after the grace period, and
// leaves. One process per run, not per agent: a task pays nothing for it.
import { spawn, type ChildProcess } from 'node:child_process';

/** The watchdog's program, run with `node -e` (argv: the grace period in ms). No shell is involved. */
const SCRIPT = `
const grace = Number(process.argv[1]) || 10000;
const groups = new Set();
let buffered = '';
let leaving = false;
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
const signal = (name) => { for (const g of groups) { try { process.kill(-g, name); } catch {} } };
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let at;
  while ((at = buffered.indexOf('\\n')) >= 0) {
    const line = buffered.slice(0, at);
    buffered = buffered.slice(at + 1);
    if (line === 'exit') leaving = true;
    else if (line[0] === '+') groups.add(Number(line.slice(1)));
    else if (line[0] === '-') groups.delete(Number(line.slice(1)));
  }
});
process.stdin.on('end', () => {
  if (leaving || groups.size === 0) process.exit(0);
  signal('SIGTERM');
  setTimeout(() => { signal('SIGKILL'); process.exit(0); }, grace);
});
`;

export interface Watchdog {
  watch(pgid: number): void;
  unwatch(pgid: number): void;
  /** The run ended as it should: the watchdog leaves without signalling anything. */
  close(): void;
}

export function startWatchdog(graceMs: number): Watchdog {
  const child: ChildProcess = spawn(process.execPath, ['-e', SCRIPT, String(graceMs)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  // The runner must not wait for its watchdog, nor keep running because of the pipe to it.
  child.unref();
  const stdin = child.stdin!;
  (stdin as unknown as { unref?: () => void }).unref?.();
  // A watchdog that died (it never should) must not take the runner with it through EPIPE.
  stdin.on('error', () => {});
  child.on('error', () => {});
  const send = (line: string): void => {
    if (!stdin.destroyed) stdin.write(`${line}\n`);
  };
  return {
    watch: (pgid) => send(`+${pgid}`),
    unwatch: (pgid) => send(`-${pgid}`),
    close: () => {
      if (!stdin.destroyed) stdin.end('exit\n');
    },
  };
}
