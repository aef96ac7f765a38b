// IDs for boards shared across clones (`ids: hash`): two clones that each add a task offline
// must not both hand out GLD-13, so a new ID is random, `<PREFIX>-<base36>`, upper case like
// every typed ID. Its first character is a letter: a hash ID never reads as a numeric one, and a
// typed prefix of it (GLD-K3) is told from a number without reading the board.
import { randomInt } from 'node:crypto';
import { FileError } from '../errors.js';
import { HASH_ID_MAX, HASH_ID_MIN } from '../identifiers.js';
import type { Board } from './types.js';

/** A uniform integer in [0, max): crypto's by default, a seeded one in tests. */
export type RandomInt = (max: number) => number;

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** IDs of a length outnumber the board's IDs at least this many times: a fresh ID then collides about once in this many draws. */
const SPARSENESS = 1000;
/** Draws that collide in a row before the length grows by one: only a broken or hostile random source gets there. */
const TRIES_PER_LENGTH = 8;

/** How many IDs of `length` characters after the dash there are: a letter, then base36. */
function idsOfLength(length: number): number {
  return 26 * 36 ** (length - 1);
}

/** The shortest length that keeps `count` IDs sparse (4 up to ~1,200 tasks, 5 up to ~43,000, ...). */
export function hashIdLength(count: number): number {
  let length = HASH_ID_MIN;
  while (length < HASH_ID_MAX && idsOfLength(length) < SPARSENESS * (count + 1)) length++;
  return length;
}

export function randomHashPart(length: number, random: RandomInt = randomInt): string {
  let part = LETTERS[random(LETTERS.length)]!;
  while (part.length < length) part += BASE36[random(BASE36.length)]!;
  return part;
}

/**
 * New hash IDs for `board`: never one the board names, as a task's ID or in any task's needs (a
 * need may name a task that lives on another branch), nor one given before by this allocator.
 */
export function hashIdAllocator(board: Board, random: RandomInt = randomInt): () => string {
  const taken = new Set<string>();
  for (const task of board.tasks) {
    if (task.id !== null) taken.add(task.id);
    for (const need of task.needs) taken.add(need);
  }
  const prefix = board.settings.prefix;
  return () => {
    let length = hashIdLength(taken.size);
    for (let tries = 1; ; tries++) {
      const id = `${prefix}-${randomHashPart(length, random)}`;
      if (!taken.has(id)) {
        taken.add(id);
        return id;
      }
      if (tries % TRIES_PER_LENGTH !== 0) continue;
      if (length === HASH_ID_MAX) {
        throw new FileError('EIDSPACE', board.file, 1, `no new hash ID found: ${tries} random IDs of ${length} characters all collided with IDs on the board (is the random source broken?)`, { tries });
      }
      length++;
    }
  };
}
