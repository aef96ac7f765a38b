// Whether the machine has room for one more agent: `guild-fs run --max-load 1.5 --min-free-mem 2G`.
// A new claim starts only while the 1-minute load average per core is at most --max-load and the
// available memory is at least --min-free-mem. Running agents are never stopped for load: the gate
// only holds back the next claim, and the runner's view shows why.
//
// The runner's interface:
//   parseMaxLoad(value, option?)       '1.5' -> 1.5; exit 2 (EUSAGE) for anything not a positive number
//   parseSize(value, option?)          '512M', '2G', '1.5GiB', '1048576' -> bytes (binary units); exit 2 otherwise
//   const gate = new ResourceGate({ maxLoad, minFreeMem, repoDir })   (sample, now, intervalMs, onChange: for tests and the view)
//   gate.start()                       samples now, then every intervalMs (2 s), on a timer that keeps no process alive
//   gate.verdict()                     { ok: true } | { ok: false, why }: the last sample's answer, never waits
//   gate.stop()                        stops the timer; a sample under way is dropped (a stuck sampler never holds the runner)
//
// Sampling is off the hot path: a claim asks verdict(), which reads the last sample and never
// waits for one. Before the first sample arrives, and when the sampler fails or cannot tell (no
// load average on Windows), the gate is open: not knowing is no reason to stop work. A gate
// with neither limit never samples, so systeminformation is not even loaded.
import { cpus, loadavg } from 'node:os';
import { UsageError } from '../errors.js';

export interface ResourceSample {
  /** 1-minute load average divided by the number of cores; null when the machine cannot tell. */
  loadPerCore: number | null;
  /** Memory a new process could have (the kernel's "available", page cache included), bytes. */
  freeMemBytes: number | null;
}

export type Sampler = () => Promise<ResourceSample>;

export type Verdict = { ok: true } | { ok: false; why: string };

export interface ResourceGateOptions {
  /** --max-load: load per core above which no claim starts (null: no limit). */
  maxLoad?: number | null;
  /** --min-free-mem: bytes of available memory below which no claim starts (null: no limit). */
  minFreeMem?: number | null;
  /** The repository's directory, for the default sampler. */
  repoDir?: string;
  sample?: Sampler;
  now?: () => number;
  intervalMs?: number;
  /** Called when the verdict changes (open -> closed, closed -> open, or another reason). */
  onChange?: (verdict: Verdict) => void;
}

export const SAMPLE_EVERY_MS = 2_000;

export class ResourceGate {
  private readonly maxLoad: number | null;
  private readonly minFreeMem: number | null;
  private readonly sampler: Sampler;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly onChange: ((verdict: Verdict) => void) | undefined;
  private last: (ResourceSample & { at: number }) | null = null;
  private lastError: string | null = null;
  private current: Verdict = { ok: true };
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(options: ResourceGateOptions = {}) {
    this.maxLoad = options.maxLoad ?? null;
    this.minFreeMem = options.minFreeMem ?? null;
    this.sampler = options.sample ?? systemSampler(options.repoDir ?? process.cwd());
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? SAMPLE_EVERY_MS;
    this.onChange = options.onChange;
  }

  /** True when there is a limit to watch; a gate without one is always open and never samples. */
  get limited(): boolean {
    return this.maxLoad !== null || this.minFreeMem !== null;
  }

  start(): void {
    if (!this.limited) return;
    this.stopped = false;
    // A sample under way schedules the next one when it ends.
    if (this.timer !== null || this.running !== null) return;
    void this.sampleNow();
  }

  /**
   * Takes one sample and updates the verdict. The next sample is timed from the end of this one
   * (setTimeout, not setInterval): a slow sampler never has two samples under way.
   */
  sampleNow(): Promise<void> {
    if (this.running) return this.running;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running = (async () => {
      try {
        const sample = await this.sampler();
        this.last = { ...sample, at: this.now() };
        this.lastError = null;
      } catch (error) {
        this.lastError = (error as Error).message;
      }
      if (!this.stopped) this.update(this.judge());
    })().finally(() => {
      this.running = null;
      if (!this.stopped && this.limited) {
        this.timer = setTimeout(() => void this.sampleNow(), this.intervalMs);
        this.timer.unref();
      }
    });
    return this.running;
  }

  verdict(): Verdict {
    return this.current;
  }

  /** The last sample and when it was taken (ms), or null before the first; for the view and --json. */
  latest(): { sample: (ResourceSample & { at: number }) | null; error: string | null } {
    return { sample: this.last, error: this.lastError };
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private judge(): Verdict {
    const sample = this.last;
    // Not knowing is no reason to stop work: no sample yet, or the last sampling failed.
    if (sample === null || this.lastError !== null) return { ok: true };
    const reasons: string[] = [];
    if (this.maxLoad !== null && sample.loadPerCore !== null && sample.loadPerCore > this.maxLoad) {
      reasons.push(`load ${sample.loadPerCore.toFixed(2)} per core is over --max-load ${this.maxLoad}`);
    }
    if (this.minFreeMem !== null && sample.freeMemBytes !== null && sample.freeMemBytes < this.minFreeMem) {
      reasons.push(`free memory ${formatSize(sample.freeMemBytes)} is under --min-free-mem ${formatSize(this.minFreeMem)}`);
    }
    return reasons.length === 0 ? { ok: true } : { ok: false, why: `${reasons.join('; ')}: no new claim until it is not` };
  }

  private update(next: Verdict): void {
    const before = this.current;
    this.current = next;
    const same = before.ok === next.ok && (before.ok || (!next.ok && before.why === next.why));
    if (!same) this.onChange?.(next);
  }
}

/**
 * The real machine: the load average from node:os, available memory from systeminformation
 * (os.freemem() is MemFree, which leaves out the page cache a new process can have). The daemon's
 * sampler is reused, loaded on first use from its own bundle (scripts/build.mjs `lazy`).
 */
export function systemSampler(repoDir: string): Sampler {
  return async () => {
    const { sampleMachine } = await import('../daemon/sample-machine.js');
    const machine = await sampleMachine(repoDir);
    return { loadPerCore: loadPerCore(machine.loadAverage, machine.cores), freeMemBytes: machine.memFreeBytes };
  };
}

/** Windows has no load average (node reports zeros): null, so that the gate does not judge it. */
export function loadPerCore(average: number = loadavg()[0]!, cores: number = cpus().length): number | null {
  if (process.platform === 'win32' || cores < 1 || !Number.isFinite(average)) return null;
  return Math.round((average / cores) * 100) / 100;
}

export function parseMaxLoad(value: unknown, option = '--max-load'): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!/^\d+(\.\d+)?$/.test(text) || !(Number(text) > 0)) {
    throw new UsageError(`${option}: not a load per core: ${JSON.stringify(value)} (a positive number, like 1.5: the 1-minute load average divided by the number of cores)`, { option, value });
  }
  return Number(text);
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** '512M', '2G', '1.5GiB', '64kb', '1048576'. Units are binary (1K = 1024 bytes), as free(1) and top count memory. */
export function parseSize(value: unknown, option = '--min-free-mem'): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text);
  const bytes = match ? Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!) : NaN;
  // A fraction of a byte means a unit was forgotten: refused rather than rounded.
  const fractionOfByte = match !== null && match[2] === '' && match[1]!.includes('.');
  if (!match || fractionOfByte || !Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UsageError(`${option}: not a size: ${JSON.stringify(value)} (like 512M or 2G; K, M, G, T count in 1024s; a bare number is bytes)`, { option, value });
  }
  return bytes;
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  const units = ['K', 'M', 'G', 'T'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 ? Math.round(value) : Math.round(value * 10) / 10}${units[unit]}`;
}
