// The house's rule (STYLE.md, docs/architecture.md): imports point down. A module may import from
// its own folder, from a folder of its own layer, or from one below; never from a layer above.
// Checked here so that a move or a new import that runs back up fails in CI, not in review.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Each folder's layer: higher layers may import lower ones. Files directly in src/ are the floor. */
const LAYER: Record<string, number> = {
  '.': 0,
  board: 1,
  log: 1,
  lock: 1,
  git: 1,
  tasks: 2,
  history: 3,
  merge: 3,
  workspace: 3,
  health: 3,
  remote: 3,
  hosts: 3,
  runner: 4,
  daemon: 4,
  cli: 5,
  mcp: 5,
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function folderOf(path: string): string {
  const rel = relative(SRC, path);
  return rel.includes('/') ? rel.split('/')[0]! : '.';
}

test('every folder of src/ has a layer', () => {
  const folders = new Set(sources(SRC).map(folderOf));
  for (const folder of folders) assert.ok(folder in LAYER, `src/${folder}/ has no layer in test/layers.test.ts (and docs/architecture.md)`);
});

test('no import runs back up a layer', () => {
  const upward: string[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(file), match[1]!));
      const from = folderOf(file);
      const to = folderOf(target);
      if (LAYER[to]! > LAYER[from]!) upward.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(upward, []);
});
