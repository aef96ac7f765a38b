// The windows behind the storm's lost saves (GLD-72), each made deterministic through the
// rename's test seam: a person's rename-save that lands between a write's last look and its
// rename, on a board that guild-fs itself wrote last (no hand save since, so nothing said a
// person was at work); and the instant every write now leaves the board without a name, which
// the light look at the front matter (a claim's trust and remote check) must not take for "no board".
import { existsSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { boardHead } from '../src/board/board-head.js';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openGuild } from '../src/tasks/guild.js';
import { updateBoard, type UpdateOptions } from '../src/tasks/update-board.js';
import { cli } from './helpers/cli.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

const repos: TempRepo[] = [];
after(() => {
  for (const repo of repos) repo.remove();
});

/** A board guild-fs wrote last: `init --example`, then one write, so its version is the latest. */
function quietRepo(): TempRepo {
  const repo = tempRepo();
  repos.push(repo);
  assert.equal(cli(['init', '--example'], { cwd: repo.dir }).code, 0);
  assert.equal(cli(['sync'], { cwd: repo.dir }).code, 0);
  return repo;
}

function complete(guild: ReturnType<typeof openGuild>, id: string, options: UpdateOptions = {}): Promise<void> {
  return updateBoard(guild, 'agent-a', 'test', (tx) => {
    tx.edit.update(tx.board.byId.get(id)!, { status: 'done', checked: true });
    tx.emit('task.completed', id, {});
  }, { say: () => {}, ...options });
}

test('a rename-save landing after the last look, on a board only tools wrote since the last save, is merged, not replaced', async () => {
  const repo = quietRepo();
  const guild = openGuild(repo.dir);
  // A first tool write: the board is now exactly the last one guild-fs wrote.
  await complete(guild, 'GLD-5');
  const before = repo.read();
  // The person's first save after the tools' writes, renamed in the instant before the rename.
  await complete(guild, 'GLD-6', {
    commit: {
      beforeRename: () => {
        writeFileSync(`${guild.boardPath}.swp`, before.replace('# Active Tasks', '# Active Tasks\n\nSaved by rename after a tool write.'));
        renameSync(`${guild.boardPath}.swp`, guild.boardPath);
      },
    },
  });
  const board = repo.read();
  assert.match(board, /Saved by rename after a tool write\./, 'the save was replaced by the rename');
  assert.match(board, /- \[x\] GLD-6 /, 'the write was lost');
  assert.deepEqual(readdirSync(repo.dir).filter((name) => name.startsWith('.guild-aside.') || name.includes('.guild-tmp-')), []);
});

test('a save from an older buffer, landing after the last look, is merged against its own base: a completion since stays', async () => {
  const repo = quietRepo();
  const guild = openGuild(repo.dir);
  // The person's buffer, loaded before two completions.
  const buffer = repo.read();
  await complete(guild, 'GLD-5');
  await complete(guild, 'GLD-6');
  // Saved in the instant before the third write's rename: the board this write read (GLD-5 and
  // GLD-6 done) is not the board the buffer came from.
  await complete(guild, 'GLD-3', {
    commit: {
      beforeRename: () => {
        writeFileSync(`${guild.boardPath}.swp`, buffer.replace('# Active Tasks', '# Active Tasks\n\nSaved from an old buffer.'));
        renameSync(`${guild.boardPath}.swp`, guild.boardPath);
      },
    },
  });
  const board = repo.read();
  assert.match(board, /Saved from an old buffer\./, 'the save was lost');
  for (const id of ['GLD-5', 'GLD-6', 'GLD-3']) assert.match(board, new RegExp(`- \\[x\\] ${id} `), `${id}'s completion was undone by the old buffer`);
});

test('the look at the front matter waits out a board moved aside, and does not take it for no board', () => {
  const repo = quietRepo();
  const before = boardHead(repo.board);
  assert.ok(before?.startsWith('---'));
  // A writer stopped between its two steps (killed there: nobody links the new board in).
  renameSync(repo.board, join(repo.dir, '.guild-aside.ACTIVE_TASKS.md.999999-0badc0de'));
  assert.equal(boardHead(repo.board), before);
  assert.ok(existsSync(repo.board), 'the moved-aside board was not put back');
});
