#!/usr/bin/env node
// The demo agent that `guild-fs run` drives in the README's quick start: a stand-in for a coding
// agent's CLI. It reads its prompt on stdin, as a real agent would, makes a real change for its
// task in the worktree it is started in (a file under demo/ named after the task), commits it,
// and now and then fails as agents do: the first try of every third task "breaks a test", so the
// runner's fail, retry and hand-on can be seen. Nothing here is special to guild-fs beyond the
// GUILD_* environment the runner sets.
//
// GUILD_DEMO_DELAY_MS: how long each of its steps takes (default 400 ms; tests set 0).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const task = process.env.GUILD_TASK ?? 'DEMO-0';
const title = process.env.GUILD_TASK_TITLE ?? 'a demo task';
const tryNumber = Number(process.env.GUILD_TRY ?? '1');
const delay = Number(process.env.GUILD_DEMO_DELAY_MS ?? '400');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let prompt = '';
for await (const chunk of process.stdin) prompt += chunk;
console.log(`reading the prompt (${prompt.split('\n').length} lines) for ${task}: ${title}`);
await sleep(delay);

console.log('planning the change');
await sleep(delay);
const number = Number(task.slice(task.lastIndexOf('-') + 1));
if (number % 3 === 0 && tryNumber === 1) {
  // Leave some work behind, as a real failed try does: the runner commits it on the branch.
  mkdirSync('demo', { recursive: true });
  writeFileSync(join('demo', `${task}.draft.md`), `# ${title}\n\nA first attempt that broke a test.\n`);
  console.error(`test failed: ${task} broke test/${task.toLowerCase()}.test.js (a demo failure: the next try passes)`);
  process.exit(1);
}

console.log('writing the change');
mkdirSync('demo', { recursive: true });
writeFileSync(join('demo', `${task}.md`), `# ${title}\n\nDone by ${process.env.GUILD_AGENT ?? 'the demo agent'} on try ${tryNumber}.\n`);
await sleep(delay);
const git = (...args) => execFileSync('git', args, { stdio: ['ignore', 'ignore', 'inherit'] });
git('add', '--', 'demo');
git('-c', 'user.name=demo agent', '-c', 'user.email=demo-agent@example.invalid', 'commit', '-q', '-m', `${task}: ${title}`);
console.log(`committed ${task}`);
