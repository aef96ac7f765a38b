// Every board write is guarded against a person's save landing while it works (issue 10): a write
// that finds the board changed before anything is logged starts again on the new text; a save
// that lands after the events are logged (in place, into the file the rename replaces) is merged
// with the write; a save from a stale buffer is merged with every change made since; a read that
// caught an in-place save half-way waits for the rest. Made deterministic by saving from inside
// the transaction or through the rename's test seam.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readSteady, shapeOf } from '../src/board/steady-read.js';
import { openGuild } from '../src/tasks/guild.js';
import { updateBoard, type UpdateOptions } from '../src/tasks/update-board.js';
import { cli } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

const repos: TempRepo[] = [];
after(() => {
  for (const repo of repos) repo.remove();
});

function exampleRepo(): TempRepo {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  return repo;
}

/** The write every test here makes: GLD-5 completed, with its event. */
function completeGld5(guild: ReturnType<typeof openGuild>, options: UpdateOptions = {}): Promise<void> {
  return updateBoard(
    guild,
    'agent-a',
    'test',
    (tx) => {
      tx.edit.update(tx.board.byId.get('GLD-5')!, { status: 'done', checked: true });
      tx.emit('task.completed', 'GLD-5', {});
    },
    options,
  );
}

const leftovers = (repo: TempRepo): string[] => readdirSync(repo.dir).filter((name) => name.startsWith('ACTIVE_TASKS.md.') || name.startsWith('.ACTIVE_TASKS.md.guild-tmp-'));

test('a write that finds the board saved before it logged starts again on the save: both survive, one event', async () => {
  const repo = exampleRepo();
  const guild = openGuild(repo.dir);
  const logBefore = readLog(repo).length;
  const handSave = `${repo.read()}\nA line a person typed while a tool worked.\n`;
  let attempts = 0;
  await updateBoard(guild, 'agent-a', 'test', (tx) => {
    attempts++;
    tx.edit.update(tx.board.byId.get('GLD-5')!, { status: 'done', checked: true });
    tx.emit('task.completed', 'GLD-5', {});
    // The person saves (by rename) while the first attempt works.
    if (attempts === 1) {
      writeFileSync(`${guild.boardPath}.swp`, handSave);
      renameSync(`${guild.boardPath}.swp`, guild.boardPath);
    }
  });
  assert.equal(attempts, 2);
  const board = repo.read();
  assert.match(board, /A line a person typed while a tool worked\./);
  assert.match(board, /## Done\n(.*\n)*- \[x\] GLD-5 /);
  const events = readLog(repo).slice(logBefore);
  assert.deepEqual(events.map((event) => event.type), ['task.completed']);
  assert.deepEqual(leftovers(repo), [], 'a temp file was left beside the board');
});

test('a log-only write is guarded too: nothing is logged from a board that changed under it', async () => {
  const repo = exampleRepo();
  const guild = openGuild(repo.dir);
  const logBefore = readLog(repo).length;
  let attempts = 0;
  const seen: string[] = [];
  await updateBoard(guild, 'agent-a', 'test', (tx) => {
    attempts++;
    seen.push(tx.board.text);
    tx.emit('task.edited', 'GLD-5', { note: 'log only' });
    if (attempts === 1) writeFileSync(guild.boardPath, `${tx.board.text}\nSaved in place.\n`);
  });
  assert.equal(attempts, 2);
  assert.match(seen[1]!, /Saved in place\./, 'the second attempt read the save');
  assert.equal(readLog(repo).slice(logBefore).length, 1);
});

test('an in-place save into the file the rename replaces is merged, not lost', async () => {
  const repo = exampleRepo();
  const guild = openGuild(repo.dir);
  const before = repo.read();
  const says: string[] = [];
  await completeGld5(guild, {
    say: (line) => says.push(line),
    // The editor opened the board before the rename and writes its save into that file.
    commit: { beforeRename: () => writeFileSync(guild.boardPath, before.replace('# Active Tasks', '# Active Tasks\n\nTyped in place.')) },
  });
  const board = repo.read();
  assert.match(board, /Typed in place\./, 'the in-place save was lost');
  assert.match(board, /## Done\n(.*\n)*- \[x\] GLD-5 /, 'the write was lost');
  assert.equal(says.length, 1, says.join('\n'));
  assert.deepEqual(leftovers(repo), []);
});

test('a rename-save landing between the check and the rename is merged too', async () => {
  const repo = exampleRepo();
  const guild = openGuild(repo.dir);
  const before = repo.read();
  // A save that replaces the board after the last look but before the rename can only be caught
  // where the check itself still sees it: here it lands just before the commit's own check.
  let attempts = 0;
  await updateBoard(guild, 'agent-a', 'test', (tx) => {
    attempts++;
    tx.edit.update(tx.board.byId.get('GLD-5')!, { status: 'done', checked: true });
    tx.emit('task.completed', 'GLD-5', {});
    tx.beforeCommit(() => {
      writeFileSync(`${guild.boardPath}.swp`, before.replace('# Active Tasks', '# Active Tasks\n\nSaved by rename.'));
      renameSync(`${guild.boardPath}.swp`, guild.boardPath);
    });
  });
  assert.equal(attempts, 1, 'logged once, so merged rather than started again');
  const board = repo.read();
  assert.match(board, /Saved by rename\./);
  assert.match(board, /## Done\n(.*\n)*- \[x\] GLD-5 /);
  assert.equal(readLog(repo).filter((event) => event.type === 'task.completed').length, 1);
});

test('while a person is saving, a rename-save landing after the last look, before the rename, is caught and merged', async () => {
  const repo = exampleRepo();
  const guild = openGuild(repo.dir);
  // The person has saved since guild-fs last wrote: the write moves the board aside.
  repo.write(repo.read().replace('# Active Tasks', '# Active Tasks\n\nAn earlier hand save.'));
  const before = repo.read();
  await completeGld5(guild, {
    // The window a plain rename cannot close: the board is moved aside, not replaced, so the
    // save is still there to be seen.
    commit: {
      beforeRename: () => {
        writeFileSync(`${guild.boardPath}.swp`, before.replace('# Active Tasks', '# Active Tasks\n\nSaved by rename at the last moment.'));
        renameSync(`${guild.boardPath}.swp`, guild.boardPath);
      },
    },
  });
  const board = repo.read();
  assert.match(board, /Saved by rename at the last moment\./, 'the save was replaced');
  assert.match(board, /An earlier hand save\./);
  assert.match(board, /## Done\n(.*\n)*- \[x\] GLD-5 /);
  assert.deepEqual(leftovers(repo), []);
  assert.deepEqual(readdirSync(repo.dir).filter((name) => name.startsWith('.guild-aside.')), [], 'a moved-aside board was left');
});

test('a board left moved aside by a writer killed between its two steps is put back', () => {
  const repo = exampleRepo();
  const before = repo.read();
  renameSync(repo.board, join(repo.dir, '.guild-aside.ACTIVE_TASKS.md.999999-0badc0de'));
  const list = cli(['list', '--json'], { cwd: repo.dir });
  assert.equal(list.code, 0, list.stderr);
  assert.equal(repo.read(), before);
  const heal = cli(['heal', '--json'], { cwd: repo.dir });
  assert.equal(heal.code, 0, heal.stderr);
});

test('a save from a stale buffer keeps the edit and every change the agents made since', async () => {
  const repo = exampleRepo();
  cli(['sync'], { cwd: repo.dir });
  const opened = repo.read();
  // Agents work while the person's editor holds `opened`.
  const claim = cli(['claim', '--no-worktree', '--json'], { cwd: repo.dir, agent: 'agent-a' });
  assert.equal(claim.code, 0, claim.stderr);
  const claimed = claim.json!.result.task.id as string;
  const added = cli(['add', 'Added while the editor was open', '--json'], { cwd: repo.dir, agent: 'agent-b' });
  assert.equal(added.code, 0, added.stderr);
  const addedId = added.json!.result.id as string;
  // The person saves the old text plus one edit: a retitle of a task the agents did not touch,
  // and a note.
  const edited = opened.replace('This board is shared', 'A note typed by hand.\n\nThis board is shared');
  assert.notEqual(edited, opened, 'the fixture changed: pick another anchor');
  writeFileSync(repo.board, edited);
  const sync = cli(['sync', '--json'], { cwd: repo.dir });
  assert.equal(sync.code, 0, sync.stderr);
  const board = repo.read();
  assert.match(board, /A note typed by hand\./);
  assert.match(board, new RegExp(`- \\[ \\] ${claimed} .*owner:agent-a`), `the claim of ${claimed} was undone:\n${board}`);
  assert.match(board, new RegExp(`- \\[ \\] ${addedId} Added while the editor was open`));
  const types = readLog(repo).map((event) => event.type);
  assert.ok(!types.includes('task.cancelled'), 'a task was logged cancelled');
  const check = cli(['replay', '--check'], { cwd: repo.dir });
  assert.equal(check.code, 0, check.stdout + check.stderr);
});

test('a read that caught an in-place save half-way waits for the rest', () => {
  const repo = tempRepo();
  repos.push(repo);
  const full = `---\nguild: 1\n---\n# Board\n\n## Ready\n${Array.from({ length: 20 }, (_, i) => `- [ ] T-${i + 1} Task ${i + 1}\n`).join('')}`;
  const cut = full.slice(0, 100);
  writeFileSync(repo.board, cut);
  let clock = Date.now() + 10_000;
  let finished = false;
  const read = readSteady(repo.board, () => shapeOf(full, 20), () => false, {
    now: () => clock,
    sleep: (ms) => {
      clock += ms;
      // The editor writes the rest while the reader waits.
      if (!finished && clock > Date.now() + 10_200) {
        writeFileSync(repo.board, full);
        finished = true;
      }
    },
  });
  assert.equal(read.text, full);
});

test('a board emptied on purpose is taken once it stays empty', () => {
  const repo = tempRepo();
  repos.push(repo);
  writeFileSync(repo.board, '');
  let clock = Date.now() + 10_000;
  let slept = 0;
  const read = readSteady(repo.board, () => shapeOf('---\nguild: 1\n---\n# Board\n- [ ] T-1 a\n', 1), () => false, {
    now: () => clock,
    sleep: (ms) => {
      clock += ms;
      slept += ms;
    },
  });
  assert.equal(read.text, '');
  assert.ok(slept >= 1_000, `taken after ${slept} ms of quiet`);
});

test('the kept versions are kept as chains of hunks, not a copy per write', async () => {
  const repo = exampleRepo();
  for (let i = 0; i < 25; i++) assert.equal(cli(['add', `Task number ${i}`], { cwd: repo.dir, agent: 'agent-a' }).code, 0);
  const dir = join(repo.dir, '.git', 'guild', 'versions');
  const chains = readdirSync(dir).filter((name) => name.endsWith('.jsonl'));
  assert.equal(chains.length, 1, `${chains.length} chains`);
  const entries = readFileSync(join(dir, chains[0]!), 'utf8').split('\n').filter(Boolean);
  assert.ok(entries.length >= 25, `${entries.length} versions kept`);
  // One whole board, then hunks: far less than 25 copies of the board.
  assert.ok(readFileSync(join(dir, chains[0]!)).length < 25 * repo.read().length / 4);
  assert.ok(JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')).shape.tasks > 25);
});
