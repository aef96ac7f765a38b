// Each clone's own name in the claims it makes on the remote: two clones on one host, or two
// containers with one hostname, are still two claimers. Random, made once, never committed.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { replaceFile } from '../lock/mkdir-lock.js';
import type { Guild } from '../tasks/guild.js';

export function cloneId(guild: Guild): string {
  const path = join(guild.repo.commonDir, 'guild', 'clone-id');
  try {
    const id = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f]{16}$/.test(id)) return id;
  } catch {
    // Not made yet.
  }
  const id = randomBytes(8).toString('hex');
  mkdirSync(join(guild.repo.commonDir, 'guild'), { recursive: true });
  replaceFile(path, `${id}\n`);
  return id;
}
