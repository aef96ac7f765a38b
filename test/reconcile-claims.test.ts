// reconcileClaims: which tasks In Progress have lost their claim everywhere (reported, never moved).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Task } from '../src/board/types.js';
import { reconcileClaims } from '../src/remote/reconcile-claims.js';

type RemoteClaim = { state: 'claimed' | 'done' };

function task(id: string | null, status: Task['status'], owner: string | null = null): Task {
  return { id, title: `task ${id}`, status, checked: false, prio: 'normal', needs: [], caps: [], owner, branch: null, tries: 0, retry: null, empty: null, line: 1, endLine: 1 };
}

const none = new Map<string, RemoteClaim>();
const nowhere = (): boolean => false;

test('a task In Progress with no remote claim and no local lock is orphaned', () => {
  const board = { tasks: [task('T-1', 'in-progress', 'alice'), task('T-2', 'ready')] };
  assert.deepEqual(reconcileClaims(board, none, nowhere), [{ id: 'T-1', title: 'task T-1', owner: 'alice' }]);
});

test('a remote claim in either state, or a lock held here, keeps a task', () => {
  const board = { tasks: [task('T-1', 'in-progress'), task('T-2', 'in-progress'), task('T-3', 'in-progress'), task('T-4', 'in-progress')] };
  const claims = new Map<string, RemoteClaim>([
    ['T-1', { state: 'claimed' }],
    ['T-2', { state: 'done' }],
  ]);
  const orphaned = reconcileClaims(board, claims, (id) => id === 'T-3');
  assert.deepEqual(orphaned.map((t) => t.id), ['T-4']);
});

test('only In Progress counts, in board order; tasks without an ID are skipped', () => {
  const statuses: Task['status'][] = ['backlog', 'blocked', 'ready', 'review', 'done', 'failed'];
  const board = { tasks: [task('T-9', 'in-progress'), ...statuses.map((s, i) => task(`T-${i + 1}`, s)), task(null, 'in-progress'), task('T-8', 'in-progress')] };
  assert.deepEqual(reconcileClaims(board, none, nowhere).map((t) => t.id), ['T-9', 'T-8']);
});

test('claims for tasks not on the board are not reported here', () => {
  const claims = new Map<string, RemoteClaim>([['T-77', { state: 'claimed' }]]);
  assert.deepEqual(reconcileClaims({ tasks: [task('T-1', 'done')] }, claims, nowhere), []);
});
