// `guild-fs mcp` and malformed JSON-RPC (SPEC section 10, issue 21 item 6): raw lines written to
// the built server's stdin, as a broken or hostile host would send them. Each gets the answer
// JSON-RPC 2.0 asks for (-32700, -32600 with id null, -32602 for bad params), and the server
// answers the next good request as if nothing had happened. Then a title with a NUL, refused
// through a real MCP client with nothing written to the board.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BIN } from './helpers/cli.js';
import { repoFor } from './helpers/cli-cases.js';
import { connectMcp } from './helpers/mcp-client.js';
import { readLog, type TempRepo } from './helpers/repo.js';

/** The server as a raw process: lines in, every stdout line parsed (stdout holds nothing else). */
class RawServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: unknown[] = [];
  private waiting: ((answer: unknown) => void) | null = null;
  private partial = '';
  stderr = '';

  constructor(cwd: string) {
    this.child = spawn(process.execPath, [BIN, 'mcp'], { cwd, env: { ...process.env, GUILD_AGENT: 'raw', GUILD_VERIFY_CACHE: '1' } });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.partial += chunk.toString();
      let end: number;
      while ((end = this.partial.indexOf('\n')) >= 0) {
        const line = this.partial.slice(0, end);
        this.partial = this.partial.slice(end + 1);
        let answer: unknown;
        assert.doesNotThrow(() => (answer = JSON.parse(line)), `stdout holds only JSON-RPC messages, got ${JSON.stringify(line)}`);
        if (this.waiting) {
          const resolve = this.waiting;
          this.waiting = null;
          resolve(answer);
        } else this.answers.push(answer);
      }
    });
  }

  write(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  next(): Promise<any> {
    const queued = this.answers.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Closes stdin and waits for the server to end: it ends on its own, with exit 0. */
  async close(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stdin.end();
    return exited;
  }
}

const INITIALIZE = { jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

async function initialized(t: TestContext, repo: TempRepo): Promise<RawServer> {
  const server = new RawServer(repo.dir);
  t.after(() => void server.close());
  server.write(JSON.stringify(INITIALIZE));
  const answer = await server.next();
  assert.equal(answer.id, 'init');
  assert.equal(answer.result.serverInfo.name, 'guild-fs');
  server.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  return server;
}

/** A ping after each bad line: answered, so the bad line left the server serving. */
async function stillServing(server: RawServer, id: number): Promise<void> {
  server.write(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }));
  const pong = await server.next();
  assert.deepEqual(pong, { jsonrpc: '2.0', id, result: {} });
}

describe('guild-fs mcp: malformed JSON-RPC', { concurrency: false, timeout: 60_000 }, () => {
  test('each malformed line is answered as JSON-RPC 2.0 says, and the next request still is', async (t) => {
    const repo = repoFor(t);
    const server = await initialized(t, repo);
    const cases: [line: string, code: number, id: string | number | null, message: RegExp][] = [
      ['not json', -32700, null, /^Parse error/],
      ['{"jsonrpc":"2.0","id":1,"method":"ping"', -32700, null, /^Parse error/],
      ['[]', -32600, null, /empty batch/],
      ['[{"jsonrpc":"2.0","id":1,"method":"ping"}]', -32600, null, /batch/],
      ['5', -32600, null, /JSON object, not a number/],
      ['null', -32600, null, /not null/],
      ['"ping"', -32600, null, /not a string/],
      ['true', -32600, null, /not a boolean/],
      ['{}', -32600, null, /"jsonrpc" must be "2.0"/],
      ['{"jsonrpc":"1.0","id":7,"method":"ping"}', -32600, 7, /"jsonrpc" must be "2.0"/],
      ['{"jsonrpc":"2.0","id":8,"method":5}', -32600, 8, /"method" must be a string/],
      ['{"jsonrpc":"2.0","id":null,"method":"ping"}', -32600, null, /"id" must be a string or a number/],
      ['{"jsonrpc":"2.0","id":"p","method":"tools/call","params":"add"}', -32600, 'p', /"params" must be an object/],
      ['{"jsonrpc":"2.0","id":9}', -32600, 9, /neither a request/],
      ['{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{}}', -32602, 10, /^Invalid params for tools\/call: params\.name/],
      ['{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"add","arguments":"title"}}', -32602, 11, /params\.arguments/],
      ['{"jsonrpc":"2.0","id":12,"method":"tools/list","params":{"cursor":5}}', -32602, 12, /params\.cursor/],
      ['{"jsonrpc":"2.0","id":13,"method":"initialize","params":{}}', -32602, 13, /^Invalid params for initialize/],
      ['{"jsonrpc":"2.0","id":14,"method":"no/such/method"}', -32601, 14, /not found/],
    ];
    let ping = 1000;
    for (const [line, code, id, message] of cases) {
      server.write(line);
      const answer = await server.next();
      assert.equal(answer.jsonrpc, '2.0', line);
      assert.equal(answer.id, id, `${line}: the id`);
      assert.equal(answer.error?.code, code, `${line}: ${JSON.stringify(answer)}`);
      assert.match(answer.error.message, message, line);
      await stillServing(server, ping++);
    }
    // Without an id, a message that is not a notification still gets -32600 (JSON-RPC's own
    // example: {"method": 1, "params": "bar"}); a blank line, and a well-formed notification
    // whose params its handler cannot use, get none (notifications are never answered).
    server.write('{"jsonrpc":"2.0","method":"notifications/cancelled","params":5}');
    const invalid = await server.next();
    assert.equal(invalid.id, null);
    assert.equal(invalid.error.code, -32600);
    server.write('');
    server.write('{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{}}}');
    await stillServing(server, ping++);
    // The tools still work after all of it.
    server.write(JSON.stringify({ jsonrpc: '2.0', id: 'list', method: 'tools/list' }));
    const listed = await server.next();
    assert.equal(listed.result.tools.length, 8);
    assert.equal(await server.close(), 0, server.stderr);
  });

  test('a bad line while a tool call runs does not cut that call short, even with its id', async (t) => {
    const repo = repoFor(t);
    const server = await initialized(t, repo);
    server.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'add', arguments: { title: 'Added while junk came in' } } }));
    server.write('{"jsonrpc":"1.0","id":1,"method":"ping"}');
    const answers = [await server.next(), await server.next()];
    const junk = answers.find((answer) => answer.error);
    const call = answers.find((answer) => answer.result);
    assert.equal(junk?.error.code, -32600);
    assert.equal(call?.result.isError, undefined, JSON.stringify(call));
    assert.match(call.result.content[0].text, /^GLD-7\b/);
    assert.equal(await server.close(), 0, server.stderr);
  });

  test('a title with a NUL is refused through MCP as the CLI refuses it, and nothing is written', async (t) => {
    const repo = repoFor(t);
    const board = readFileSync(join(repo.dir, 'ACTIVE_TASKS.md'));
    const events = readLog(repo).length;
    const mcp = await connectMcp(repo.dir, { agent: 'host' });
    t.after(() => mcp.close());
    for (const [args, field] of [
      [{ title: 'Fix\u0000the parser' }, 'the title'],
      [{ title: 'Two\nlines' }, 'the title'],
      [{ title: 'Red \u001b[31mtitle' }, 'the title'],
      [{ title: 'Fine', body: 'a body with a \u0007 bell' }, 'the body'],
    ] as const) {
      const result = await mcp.call('add', args);
      assert.equal(result.isError, true, `${JSON.stringify(args)}: ${result.text}`);
      assert.equal(result.data.error.code, 'EUSAGE');
      assert.equal(result.data.error.exitCode, 2);
      assert.match(result.data.error.message, new RegExp(`^${field} `));
      assert.match(result.data.error.message, /U\+00(00|0A|1B|07) at character \d+/);
    }
    assert.deepEqual(readFileSync(join(repo.dir, 'ACTIVE_TASKS.md')), board, 'the board is untouched');
    assert.equal(readLog(repo).length, events, 'no event is logged');
    // A tab is text, and the same call without the NUL goes through.
    const added = await mcp.call('add', { title: 'Fix\tthe parser' });
    assert.equal(added.isError, false, added.text);
  });
});
