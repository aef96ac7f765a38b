// Issue 10's storm, the person saving in place: the board truncated and written again in one
// write (vim with backupcopy=yes, nano). No save may be lost. See test/helpers/storm.ts.
import { stormSuite } from './helpers/storm-suite.js';

stormSuite('inplace');
