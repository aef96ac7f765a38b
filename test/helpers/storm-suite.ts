// One storm test file per save style (node:test runs files in parallel): each runs the storm
// without and with the daemon and requires what issue 10 requires, printing the full report.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedLost, formatStormReport, killStormProcesses, runStorm, stormFailures, type SaveStyle } from './storm.js';

/** Seconds of storm per variant: short enough for the suite, long enough for some 350 saves. */
export const TEST_SECONDS = 8;
export const TEST_AGENTS = 6;

export function stormSuite(style: SaveStyle): void {
  after(killStormProcesses);
  describe(`the storm: a person saving by ${style} while ${TEST_AGENTS} agents claim, complete and add`, () => {
    for (const daemon of [false, true]) {
      test(`${style}, ${daemon ? 'with' : 'without'} the daemon`, { timeout: 240_000 }, async (t) => {
        const report = await runStorm({ style, daemon, agents: TEST_AGENTS, seconds: TEST_SECONDS, verifyCache: true });
        const saves = report.person?.saves ?? 0;
        t.diagnostic(`${style}, daemon ${daemon ? 'on' : 'off'}: ${report.lostNotes.length} of ${saves} saves lost (allowed ${allowedLost(report) ?? 'any: measured only'})`);
        for (const line of formatStormReport(report).split('\n')) t.diagnostic(line);
        const failures = stormFailures(report);
        assert.deepEqual(failures, [], `the storm lost something (the report is in the diagnostics):\n- ${failures.join('\n- ')}`);
      });
    }
  });
}
