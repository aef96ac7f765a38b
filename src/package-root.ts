// Where guild-fs itself is installed: the folder holding bin/ and templates/. The sources run
// from src/ (tests, via tsx) and from dist/ (the bundle), so look upwards from either.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'templates', 'ACTIVE_TASKS.md')) && existsSync(join(dir, 'bin', 'guild-fs.js'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the folder guild-fs is installed in (no bin/ and templates/ above it)');
}
