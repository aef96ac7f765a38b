// Issue 10's storm, the person saving in place in 4 KiB writes: for a while the board on disk
// is empty or cut short, and a tool that reads it then must not write back what it read. No
// save may be lost. See test/helpers/storm.ts.
import { stormSuite } from './helpers/storm-suite.js';

stormSuite('inplace-chunks');
