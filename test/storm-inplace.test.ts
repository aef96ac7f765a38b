// Issue 10's storm, the person saving in place: the board opened with O_TRUNC and written again
// in one write (vim with backupcopy=yes, nano). No save may be lost. (An editor that opens it
// `r+` and truncates later is measured by the bench, not required here: test/helpers/storm.ts,
// allowedLost.)
import { stormSuite } from './helpers/storm-suite.js';

stormSuite('inplace');
