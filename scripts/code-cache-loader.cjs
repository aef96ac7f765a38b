// dist/cli.cjs: loads the bundle (dist/guild-fs.cjs) through V8's code cache, made at build time,
// so that a start skips parsing and compiling the functions every command runs. A cache that this
// node cannot use (another version, other flags) is ignored and the bundle is compiled as usual.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const Module = require('node:module');
const vm = require('node:vm');

const file = join(__dirname, 'guild-fs.cjs');
// The build names the cache after the bundle's hash (it replaces the placeholder): V8 checks a
// cache against its source by length only, so a cache made for another bundle of the same length
// would run the wrong bytecode (node crashed with SIGSEGV). A cache is only ever used with its own bundle.
const cacheFile = join(__dirname, 'guild-fs.__BUNDLE_HASH__.cache');
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData, importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER });
const bundle = new Module(file, module);
bundle.filename = file;
bundle.paths = Module._nodeModulePaths(__dirname);
script.runInThisContext().call(bundle.exports, bundle.exports, (id) => bundle.require(id), bundle, file, __dirname);
bundle.loaded = true;

if (process.env.GUILD_FS_WRITE_CODE_CACHE === '1') {
  // Used by the build: after a representative run, the cache holds the functions it compiled.
  process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()));
}
module.exports = bundle.exports;
