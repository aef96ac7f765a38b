// Builds dist/ with esbuild: one CommonJS bundle for the CLI, because a bundled CommonJS file
// starts several times faster than the same modules loaded one by one as ESM, and separate
// bundles for what only some runs need (remark, loaded when the fast board scanner declines).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

// Modules split into bundles of their own: source path suffix -> file in dist/.
const lazy = { 'board/remark-outline.js': 'remark-outline.cjs' };

const splitLazy = {
  name: 'split-lazy',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      for (const [suffix, out] of Object.entries(lazy)) {
        if (args.path.endsWith(suffix.split('/').pop())) return { path: `./${out}`, external: true };
      }
      return undefined;
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  // The sources are ESM and use import.meta.url; in a CommonJS bundle it is the bundle's own URL.
  define: { 'import.meta.url': '__bundle_url' },
  banner: { js: 'const __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
};

rmSync('dist', { recursive: true, force: true });
await build({ ...common, entryPoints: { cli: 'src/cli/entry.ts' }, outdir: 'dist', outExtension: { '.js': '.cjs' }, plugins: [splitLazy] });
await build({ ...common, entryPoints: { 'remark-outline': 'src/board/remark-outline.ts' }, outdir: 'dist', outExtension: { '.js': '.cjs' } });
