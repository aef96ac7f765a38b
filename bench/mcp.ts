// Issue 14's MCP figures.
//   16a. The size of the whole tools/list answer, in bytes of JSON (goal: under 8 KiB, about
//        2,000 tokens of every agent's context).
//   16b. A `claim` through a running `guild-fs mcp` (the SDK's Client over stdio, the call's
//        round trip) against a `guild-fs claim` process, both without a worktree, interleaved in
//        the same run. Goal: at most 0.3x.
// Run alone: `npm run build && tsx bench/mcp.ts [--quick]`.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { benchEnv, sh as shWith, timed as timedWith, type BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { median, pairedRatios } from './stats.js';
import { isMain, runStandalone } from './standalone.js';


const ENV = benchEnv({ GUILD_AGENT: 'bench' });
const sh = (cmd: string, args: string[], cwd: string): string => shWith(cmd, args, cwd, ENV);
const timed = (cmd: string, args: string[], cwd: string, ok?: number[]): number => timedWith(cmd, args, cwd, ENV, ok);

export async function mcpBench(options: BenchOptions): Promise<{ rows: FigureRow[]; method: string }> {
  const samples = options.quick ? 8 : 40;
  const tasks = 2 * samples + 4;
  const dir = join(options.tmpRoot, 'mcp');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  sh('git', ['init', '-q', '-b', 'main', dir], dir);
  const board = ['---', 'guild: 1', 'prefix: GLD', '---', '# Active Tasks', '', '## Ready', ...Array.from({ length: tasks }, (_, i) => `- [ ] GLD-${i + 1} Task ${i + 1}`), '', '## In Progress', '', '## Done', ''].join('\n');
  writeFileSync(join(dir, 'ACTIVE_TASKS.md'), board);
  sh(process.execPath, [options.bin, 'init'], dir);
  sh('git', ['add', '-A'], dir);
  sh('git', ['commit', '-q', '-m', 'seed'], dir);

  const env = Object.fromEntries(Object.entries(ENV).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const transport = new StdioClientTransport({ command: process.execPath, args: [options.bin, 'mcp'], cwd: dir, env: { ...env, GUILD_AGENT: 'bench-mcp' }, stderr: 'ignore' });
  const client = new Client({ name: 'guild-fs-bench', version: '1.0.0' });
  await client.connect(transport);
  const mcp: number[] = [];
  const cli: number[] = [];
  let listBytes = 0;
  try {
    listBytes = Buffer.byteLength(JSON.stringify(await client.listTools()));
    options.log(`mcp: tools/list is ${listBytes} bytes; ${samples} claims through the server and ${samples} claim processes, interleaved`);
    const claimThroughMcp = async (id: string): Promise<number> => {
      const start = process.hrtime.bigint();
      const result = await client.callTool({ name: 'claim', arguments: { id, worktree: false } });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (result.isError) throw new Error(`the MCP claim of ${id} failed: ${JSON.stringify(result.content)}`);
      return ms;
    };
    // One warm-up each: the first call loads the command's code, the first process fills caches.
    await claimThroughMcp(`GLD-${tasks - 1}`);
    timed(process.execPath, [options.bin, 'claim', `GLD-${tasks}`, '--no-worktree'], dir);
    for (let i = 0; i < samples; i++) {
      // Alternate which goes first, so that neither always meets a board the other just wrote.
      const mcpId = `GLD-${2 * i + 1}`;
      const cliId = `GLD-${2 * i + 2}`;
      if (i % 2 === 0) {
        mcp.push(await claimThroughMcp(mcpId));
        cli.push(timed(process.execPath, [options.bin, 'claim', cliId, '--no-worktree'], dir));
      } else {
        cli.push(timed(process.execPath, [options.bin, 'claim', cliId, '--no-worktree'], dir));
        mcp.push(await claimThroughMcp(mcpId));
      }
    }
  } finally {
    await client.close();
  }
  const rows: FigureRow[] = [
    { figure: '16a. `tools/list` of `guild-fs mcp`', unit: 'B', subject: [listBytes], baseline: [], target: '< 8192 B', met: listBytes < 8192, digits: 0, show: { baseline: '-', ratio: '-' } },
    { figure: '16b. `claim` through a running `guild-fs mcp` vs a `guild-fs claim` process', unit: 'ms', subject: mcp, baseline: cli, paired: pairedRatios(mcp, cli), target: '<= 0.3x', met: median(mcp) / median(cli) <= 0.3, digits: 1 },
  ];
  const method = `**16. The MCP server.** 16a: the bytes of JSON in the whole \`tools/list\` answer, as the SDK's Client receives it. 16b: a repository with a committed board of ${tasks} Ready tasks; one \`guild-fs mcp\` started by the SDK's Client over its stdio transport, as a host does, and kept running. Subject: the round trip of a \`claim\` tool call (\`worktree: false\`), from the call to the parsed answer. Baseline: a \`guild-fs claim <ID> --no-worktree\` process, spawned and waited for. Both claim a distinct Ready task, ${samples} samples each after one warm-up each, alternating which goes first.`;
  return { rows, method };
}

if (isMain(import.meta.url)) await runStandalone('mcp', mcpBench);
