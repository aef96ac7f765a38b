// The daemon's writes are guarded against a person's save landing while it works: updateBoard
// with guardHandSaves refuses to replace a board that changed since it was read, and logs
// nothing. Made deterministic here by saving the board from inside the transaction.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { BoardChangedError } from '../src/errors.js';
import { openGuild } from '../src/tasks/guild.js';
import { updateBoard } from '../src/tasks/update-board.js';
import { cli } from './helpers/cli.js';
import { readLog, tempRepo, type TempRepo } from './helpers/repo.js';

const repos: TempRepo[] = [];
after(() => {
  for (const repo of repos) repo.remove();
});

test('a guarded write refuses when the board was saved meanwhile: the save stays, nothing is logged', async () => {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  const guild = openGuild(repo.dir);
  const logBefore = readLog(repo).length;
  const handSave = `${repo.read()}\nA line a person typed while the daemon worked.\n`;
  await assert.rejects(
    updateBoard(
      guild,
      'daemon',
      'test',
      (tx) => {
        const task = tx.board.byId.get('GLD-5')!;
        tx.edit.update(task, { status: 'done', checked: true });
        tx.emit('task.completed', 'GLD-5', {});
        writeFileSync(guild.boardPath, handSave);
      },
      { guardHandSaves: true },
    ),
    BoardChangedError,
  );
  assert.equal(readFileSync(guild.boardPath, 'utf8'), handSave);
  assert.equal(readLog(repo).length, logBefore);
  assert.deepEqual(readdirSync(repo.dir).filter((name) => name.startsWith('ACTIVE_TASKS.md.')), [], 'a temp file was left beside the board');

  // Unguarded (every CLI command), the same write goes through as before.
  await updateBoard(guild, 'daemon', 'test', (tx) => {
    tx.edit.update(tx.board.byId.get('GLD-5')!, { status: 'done', checked: true });
    tx.emit('task.completed', 'GLD-5', {});
  });
  assert.match(readFileSync(guild.boardPath, 'utf8'), /## Done\n(.*\n)*- \[x\] GLD-5 /);
  assert.equal(readLog(repo).length, logBefore + 1);
});
