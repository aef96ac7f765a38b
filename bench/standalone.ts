// A figure's bench run alone (`npx tsx bench/<figure>.ts [--quick]`), as bench/run.ts runs it:
// a temp root of its own, the built CLI, progress on stderr, the rows and the method printed.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './child-process.js';
import type { FigureRow } from './crash-safety.js';
import { printStandalone } from './stats.js';

/** True in the module node was started with: `if (isMain(import.meta.url)) await runStandalone(...)`. */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1];
}

export async function runStandalone(name: string, bench: (options: BenchOptions) => Promise<{ rows: FigureRow[]; method: string }>): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (!existsSync(join(root, 'dist', 'cli.cjs'))) throw new Error('build first: npm run build');
  const tmpRoot = mkdtempSync(join(os.tmpdir(), `guild-fs-bench-${name}-`));
  try {
    const { rows, method } = await bench({ quick: process.argv.includes('--quick'), tmpRoot, bin: join(root, 'bin', 'guild-fs.js'), log: (message) => void process.stderr.write(`[bench] ${message}\n`) });
    printStandalone(rows, method);
  } finally {
    rmSync(tmpRoot, { recursive: true, force: true });
  }
}
