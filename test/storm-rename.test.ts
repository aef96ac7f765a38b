// Issue 10's storm, the person saving as most editors do: a temp file renamed over the board.
// At most one save in a thousand may be lost (the window between a tool's last check and its
// rename, which no POSIX call closes); the test prints how many were. See test/helpers/storm.ts.
import { stormSuite } from './helpers/storm-suite.js';

stormSuite('rename');
