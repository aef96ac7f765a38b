// Reads a V8 .cpuprofile (from `node --cpu-prof`) and sums self time per function and per
// origin, for `npm run bench -- --profile`. Informational only: a profile starts after node's
// own bootstrap, and sampling (every 100 us here) misses short functions.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Sampled time after the last sample with `tailAfter` on its stack (e.g. after the output is printed), by leaf frame. */
  tail?: { after: string; ms: number; byLeaf: { name: string; ms: number }[] };
  byOrigin: { origin: string; ms: number }[];
  byFunction: { name: string; ms: number }[];
}

/** Where a frame comes from: the bundle, node's internals, a V8 pseudo-frame, or a file. */
function origin(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native/builtin)';
  if (url.startsWith('node:')) return 'node internals';
  const file = url.replace(/^file:\/\//, '');
  const dist = file.lastIndexOf('/dist/');
  if (dist >= 0) return file.slice(dist + 1);
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0) return file.slice(modules + 1).split('/').slice(0, 2).join('/');
  return file;
}

export function summarizeProfile(path: string, options: { top?: number; tailAfter?: string } = {}): ProfileSummary {
  const top = options.top ?? 15;
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute the gap to the sample after it, as
  // Chrome DevTools does.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const frame = nodes.get(id)!.callFrame;
    const from = origin(frame.url, frame.functionName);
    const name = `${frame.functionName || '(anonymous)'}  [${from}${frame.url ? `:${frame.lineNumber + 1}` : ''}]`;
    byOrigin.set(from, (byOrigin.get(from) ?? 0) + us);
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    total += us;
  }
  const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  let tail: ProfileSummary['tail'];
  if (options.tailAfter) {
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    const onStack = (id: number, name: string): boolean => {
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) if (nodes.get(cur)!.callFrame.functionName === name) return true;
      return false;
    };
    let last = -1;
    profile.samples.forEach((id, i) => {
      if (onStack(id, options.tailAfter!)) last = i;
    });
    if (last >= 0) {
      const byLeaf = new Map<string, number>();
      let us = 0;
      for (let i = last + 1; i < profile.samples.length; i++) {
        const frame = nodes.get(profile.samples[i]!)!.callFrame;
        const name = `${frame.functionName || '(anonymous)'} [${origin(frame.url, frame.functionName)}]`;
        byLeaf.set(name, (byLeaf.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
        us += profile.timeDeltas[i] ?? 0;
      }
      tail = { after: options.tailAfter, ms: us / 1000, byLeaf: sorted(byLeaf).slice(0, 5).map(([name, t]) => ({ name, ms: t / 1000 })) };
    }
  }
  return {
    totalMs: total / 1000,
    tail,
    byOrigin: sorted(byOrigin).map(([name, us]) => ({ origin: name, ms: us / 1000 })),
    byFunction: sorted(byFunction)
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000 })),
  };
}
