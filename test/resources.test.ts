// The resource gate (issue 12 item 5): --max-load and --min-free-mem hold back new claims, judged
// on samples taken off the hot path. The sampler is injected: no test depends on this machine's load.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GuildError } from '../src/errors.js';
import { parseMaxLoad, parseSize, ResourceGate, systemSampler, type ResourceSample, type Verdict } from '../src/runner/resources.js';

const G = 1024 ** 3;
const M = 1024 ** 2;

/** A sampler that answers what the test last set, counting its calls. */
function fakeSampler(first: ResourceSample) {
  let next: ResourceSample | Error = first;
  const sampler = async (): Promise<ResourceSample> => {
    sampler.calls++;
    if (next instanceof Error) throw next;
    return next;
  };
  sampler.calls = 0;
  sampler.set = (value: ResourceSample | Error) => {
    next = value;
  };
  return sampler;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('option values', () => {
  test('--max-load: a positive number', () => {
    assert.equal(parseMaxLoad('1.5'), 1.5);
    assert.equal(parseMaxLoad(2), 2);
    for (const bad of ['0', '-1', 'abc', '', '1.5x', '1e3', undefined]) {
      assert.throws(() => parseMaxLoad(bad), (error: GuildError) => error.exitCode === 2 && /^--max-load: not a load per core/.test(error.message), String(bad));
    }
  });

  test('--min-free-mem: sizes in binary units, a bare number in bytes', () => {
    assert.equal(parseSize('512M'), 512 * M);
    assert.equal(parseSize('2G'), 2 * G);
    assert.equal(parseSize('2g'), 2 * G);
    assert.equal(parseSize('1.5GiB'), 1.5 * G);
    assert.equal(parseSize('64kb'), 64 * 1024);
    assert.equal(parseSize('1048576'), 1048576);
    assert.equal(parseSize(' 1 T '), 1024 ** 4);
    for (const bad of ['0', '0M', '-1G', '2X', 'G', '1.5', '', '1e9', '2 GB B', undefined]) {
      assert.throws(() => parseSize(bad), (error: GuildError) => error.exitCode === 2 && /^--min-free-mem: not a size/.test(error.message), String(bad));
    }
  });
});

describe('the gate', () => {
  test('over load, low memory, both, and recovering: the verdict follows the samples, and says why', async () => {
    const changes: Verdict[] = [];
    const sampler = fakeSampler({ loadPerCore: 0.5, freeMemBytes: 8 * G });
    const gate = new ResourceGate({ maxLoad: 1.5, minFreeMem: 2 * G, sample: sampler, onChange: (v) => changes.push(v) });
    assert.deepEqual(gate.verdict(), { ok: true }, 'open before the first sample');
    await gate.sampleNow();
    assert.deepEqual(gate.verdict(), { ok: true });

    sampler.set({ loadPerCore: 2.25, freeMemBytes: 8 * G });
    await gate.sampleNow();
    const load = gate.verdict();
    assert.equal(load.ok, false);
    assert.match((load as { why: string }).why, /^load 2\.25 per core is over --max-load 1\.5: no new claim until it is not$/);

    sampler.set({ loadPerCore: 1.5, freeMemBytes: 512 * M });
    await gate.sampleNow();
    assert.match((gate.verdict() as { why: string }).why, /^free memory 512M is under --min-free-mem 2\.0G|^free memory 512M is under --min-free-mem 2G/);

    sampler.set({ loadPerCore: 3, freeMemBytes: 100 * M });
    await gate.sampleNow();
    assert.match((gate.verdict() as { why: string }).why, /load 3\.00 per core .*; free memory 100M is under/);
    await gate.sampleNow(); // the same again: no change reported

    sampler.set({ loadPerCore: 1.4, freeMemBytes: 3 * G });
    await gate.sampleNow();
    assert.deepEqual(gate.verdict(), { ok: true }, 'recovered');
    assert.deepEqual(changes.map((v) => (v.ok ? 'open' : v.why.split(' ')[0])), ['load', 'free', 'load', 'open']);
    assert.deepEqual(gate.latest().sample && { load: gate.latest().sample!.loadPerCore }, { load: 1.4 });
  });

  test('not knowing never closes it: a failing sampler, or a machine without a load average', async () => {
    const sampler = fakeSampler({ loadPerCore: 9, freeMemBytes: 1 });
    const gate = new ResourceGate({ maxLoad: 1, minFreeMem: G, sample: sampler });
    await gate.sampleNow();
    assert.equal(gate.verdict().ok, false);
    sampler.set(new Error('no /proc here'));
    await gate.sampleNow();
    assert.deepEqual(gate.verdict(), { ok: true });
    assert.equal(gate.latest().error, 'no /proc here');
    sampler.set({ loadPerCore: null, freeMemBytes: null });
    await gate.sampleNow();
    assert.deepEqual(gate.verdict(), { ok: true });
  });

  test('one limit judges only itself', async () => {
    const gate = new ResourceGate({ minFreeMem: G, sample: fakeSampler({ loadPerCore: 50, freeMemBytes: 2 * G }) });
    await gate.sampleNow();
    assert.deepEqual(gate.verdict(), { ok: true });
  });

  test('without limits it never samples', async () => {
    const sampler = fakeSampler({ loadPerCore: 50, freeMemBytes: 0 });
    const gate = new ResourceGate({ sample: sampler, intervalMs: 1 });
    assert.equal(gate.limited, false);
    gate.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    gate.stop();
    assert.equal(sampler.calls, 0);
    assert.deepEqual(gate.verdict(), { ok: true });
  });

  test('off the hot path: verdict never waits for a sample, samples never overlap, stop stops them', async () => {
    // The first sample hangs until released; later ones answer at once.
    let release: (() => void) | null = null;
    let calls = 0;
    const slow = async (): Promise<ResourceSample> => {
      if (++calls === 1) await new Promise<void>((resolve) => (release = resolve));
      return { loadPerCore: 5, freeMemBytes: G };
    };
    const gate = new ResourceGate({ maxLoad: 1, sample: slow, intervalMs: 1 });
    gate.start();
    gate.start();
    void gate.sampleNow();
    assert.deepEqual(gate.verdict(), { ok: true }, 'answered at once while the sample hangs');
    assert.equal(calls, 1, 'one sample under way, not three');
    release!();
    await until(() => gate.verdict().ok === false);
    // The timer takes the next samples, one after another.
    await until(() => calls >= 3);
    gate.stop();
    const after = calls;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(calls, after, 'no sample after stop');
  });

  test('the real machine: a load per core and available memory', async () => {
    const sample = await systemSampler(process.cwd())();
    if (process.platform !== 'win32') assert.ok(typeof sample.loadPerCore === 'number' && sample.loadPerCore >= 0, JSON.stringify(sample));
    assert.ok(typeof sample.freeMemBytes === 'number' && sample.freeMemBytes > 0, JSON.stringify(sample));
  });
});
