// Builds dist/ with esbuild: one CommonJS bundle for the CLI, because a bundled CommonJS file
// starts several times faster than the same modules loaded one by one as ESM, and separate
// bundles for what only some runs need (remark, loaded when the fast board scanner declines).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Modules split into bundles of their own: source path suffix -> file in dist/.
// run-process holds execa (the board's verify/worktree_setup commands); chokidar and
// systeminformation are loaded only by `watch` (and `status`), the MCP SDK only by `mcp`: a claim
// with --no-worktree, ready and list never parse any of them.
const lazy = {
  'board/remark-outline.js': 'remark-outline.cjs',
  'git/run-process.js': 'run-process.cjs',
  'daemon/watch-paths.js': 'watch-paths.cjs',
  'daemon/sample-machine.js': 'sample-machine.cjs',
  'mcp/mcp-sdk.js': 'mcp-sdk.cjs',
};

// In the CLI bundle, `import('./remark-outline.js')` becomes a stub that requires the separate
// bundle at run time (a plain require: the code-cache loader runs the bundle without an ESM loader).
const splitLazy = {
  name: 'split-lazy',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const out = Object.entries(lazy).find(([suffix]) => args.path.endsWith(suffix.split('/').pop()))?.[1];
      return out ? { path: out, namespace: 'lazy-bundle' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-bundle' }, (args) => ({
      contents: `module.exports = require(require('node:path').join(__dirname, ${JSON.stringify(args.path)}));`,
      loader: 'js',
    }));
  },
};

// js-yaml 3 (under gray-matter) loads esprima at start-up for its !!js/function type, which only
// its unsafe schema uses. guild-fs reads YAML with the safe schema, so the type is replaced by one
// that never matches: a board can never build a function, and every start saves ~45 ms.
const noJsFunctions = {
  name: 'no-js-functions',
  setup(b) {
    b.onLoad({ filter: /js-yaml[\\/]lib[\\/]js-yaml[\\/]type[\\/]js[\\/]function\.js$/ }, () => ({
      contents: "var Type = require('../../type'); module.exports = new Type('tag:yaml.org,2002:js/function', { kind: 'scalar', resolve: function () { return false; } });",
      loader: 'js',
    }));
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
  define: { 'import.meta.url': '__bundle_url', __GUILD_FS_VERSION__: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
  banner: { js: 'const __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
};

// Built beside dist/ and renamed in file by file, so that a CLI running while a build runs
// (tests, a second build) always finds a whole file.
const staging = mkdtempSync('dist-staging-');
try {
  await build({ ...common, entryPoints: { 'guild-fs': 'src/cli/entry.ts' }, outdir: staging, outExtension: { '.js': '.cjs' }, plugins: [splitLazy, noJsFunctions] });
  await build({
    ...common,
    entryPoints: {
      'remark-outline': 'src/board/remark-outline.ts',
      'run-process': 'src/git/run-process.ts',
      'watch-paths': 'src/daemon/watch-paths.ts',
      'sample-machine': 'src/daemon/sample-machine.ts',
      'mcp-sdk': 'src/mcp/mcp-sdk.ts',
    },
    outdir: staging,
    outExtension: { '.js': '.cjs' },
  });
  // The loader reads the cache named after this bundle's hash: V8 checks a cache against its
  // source by length only, and a change that kept the bundle's length (a function moved from one
  // module to another) once ran the old bytecode, and node crashed (SIGSEGV).
  const bundleHash = createHash('sha256').update(readFileSync(join(staging, 'guild-fs.cjs'))).digest('hex').slice(0, 16);
  writeFileSync(join(staging, 'cli.cjs'), readFileSync('scripts/code-cache-loader.cjs', 'utf8').replace('__BUNDLE_HASH__', bundleHash));
  mkdirSync('dist', { recursive: true });
  for (const name of readdirSync('dist')) if (name.endsWith('.cache')) rmSync(join('dist', name), { force: true });
  // The loader last: it is what bin/ requires, and it must find the bundle already in place.
  for (const name of readdirSync(staging).sort((a, b) => (a === 'cli.cjs') - (b === 'cli.cjs'))) renameSync(join(staging, name), join('dist', name));
} finally {
  rmSync(staging, { recursive: true, force: true });
}
writeCodeCache();

/** Runs one claim on a demo board so that V8's cache holds what a claim compiles. */
function writeCodeCache() {
  const dir = mkdtempSync(join(tmpdir(), 'guild-fs-build-'));
  try {
    const run = (args, env = {}) => execFileSync(process.execPath, ['bin/guild-fs.js', ...args, '--cwd', dir], { stdio: 'ignore', env: { ...process.env, ...env } });
    execFileSync('git', ['init', '-q', dir], { stdio: 'ignore' });
    run(['init', '--example']);
    run(['claim', '--agent', 'build'], { GUILD_FS_WRITE_CODE_CACHE: '1' });
  } catch (error) {
    // No cache only costs start-up time; the build itself stands.
    console.warn(`guild-fs build: no code cache (${error.message.split('\n')[0]})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
