// Issue 10's storm, the person saving as most editors do: a temp file renamed over the board.
// No save may be lost, not even one renamed over the board between a tool's last look and its
// rename (every write moves the board aside and links the new one in: board-file.ts). See
// test/helpers/storm.ts.
import { stormSuite } from './helpers/storm-suite.js';

stormSuite('rename');
