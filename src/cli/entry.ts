// The bundle's entry: bin/guild-fs.js requires dist/cli.cjs and calls run().
export { run } from './main.js';
