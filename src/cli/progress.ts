// A progress line on stderr for long reads of the log: only for a person watching (stderr and
// stdout both terminals, no --json), redrawn at most ten times a second, erased when done.

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface Progress {
  update(bytesRead: number, totalBytes: number): void;
  done(): void;
}

const QUIET: Progress = { update: () => {}, done: () => {} };

export function progressBar(label: string, options: { json: boolean; stdout?: ProgressStream; stderr?: ProgressStream; now?: () => number; minBytes?: number }): Progress {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  if (options.json || !stdout.isTTY || !stderr.isTTY) return QUIET;
  const now = options.now ?? Date.now;
  // Small logs read in a blink: no bar at all.
  const minBytes = options.minBytes ?? 8 << 20;
  let last = 0;
  let drawn = false;
  return {
    update(bytesRead, totalBytes) {
      if (totalBytes < minBytes || now() - last < 100) return;
      last = now();
      const fraction = totalBytes > 0 ? Math.min(1, bytesRead / totalBytes) : 1;
      const width = 30;
      const filled = Math.round(fraction * width);
      stderr.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.floor(fraction * 100)}% of ${(totalBytes / (1 << 20)).toFixed(0)} MiB`);
      drawn = true;
    },
    done() {
      if (drawn) stderr.write('\r\x1b[2K');
    },
  };
}
