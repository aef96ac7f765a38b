// One line of text per run event, as `guild-fs run` prints them: the plain output (one line per
// event), and the live view, which prints the same lines above the part it redraws.
import { formatDuration } from '../duration.js';
import type { RunEvent, RunSummary, UnavailableAgent } from './events.js';

export interface EventLine {
  text: string;
  /** stderr for what is about the run rather than a task's outcome. */
  stream: 'out' | 'err';
}

export function eventLines(event: RunEvent): EventLine[] {
  const out = (text: string): EventLine[] => [{ text, stream: 'out' }];
  const err = (text: string): EventLine[] => [{ text, stream: 'err' }];
  switch (event.event) {
    case 'run.started':
      return out(`run: ${event.workers.length} worker${event.workers.length === 1 ? '' : 's'} (${event.workers.join(', ')}): ${event.argv.length > 0 ? event.argv.join(' ') : "the board's agents: profiles"}`);
    case 'task.claimed':
      return out(`${event.worker}  ${event.task} claimed (try ${event.try}): ${event.title}`);
    case 'task.done':
      return out(`${event.worker}  ${event.task} ${event.status === 'review' ? 'in review' : 'done'} in ${formatDuration(event.ms)}`);
    case 'task.failed': {
      // One line: the reason, and the agent's last line of output rather than the lead-in to them.
      const [first, ...output] = event.reason.split('\n');
      const last = output.filter((line) => line.trim() !== '' && line !== 'its last lines:').pop();
      const why = last ? `${first!}: ${last}` : first!;
      return out(`${event.worker}  ${event.task} failed in ${formatDuration(event.ms)}: ${why}${event.poisoned ? ' (moved to Failed)' : ''}`);
    }
    case 'task.released':
      if (event.unavailable) return err(`${event.worker}  ${event.task} given back, the try not counted (${event.task} keeps its tries): ${event.reason ?? 'agent unavailable'}`);
      if (event.reason !== undefined) return err(`${event.worker}  ${event.task} released, no agent started: ${event.reason}`);
      return out(`${event.worker}  ${event.task} stopped and released after ${formatDuration(event.ms)}`);
    case 'run.stopping':
      return err(event.how === 'finish-running' ? 'run: stopping: no new claims; running agents finish (Ctrl-C again stops them)' : 'run: stopping the running agents and releasing their tasks');
    case 'agent.unavailable':
      return err(unavailableLine(event));
    case 'agent.available':
      return err(`run: agent ${event.command} works again; its workers claim again`);
    case 'run.waiting':
      return err(`${event.worker}  waiting: ${event.why}`);
    case 'run.note':
      return err(`${event.worker ?? 'run'}  ${event.task ? `${event.task}: ` : ''}${event.message}`);
    case 'worker.error':
      return err(`${event.worker}  stopped by an error${event.task ? ` on ${event.task}` : ''}: ${event.message}`);
    case 'run.summary': {
      if (event.tries.length === 0) return out(`run: nothing to do (no claimable task)${event.errors ? `; ${event.errors} worker error(s)` : ''}`);
      return [
        { text: summaryLine(event), stream: 'out' },
        ...event.tries.map((task): EventLine => ({ text: `  ${task.task}  ${task.outcome.padEnd(8)} ${formatDuration(task.ms).padStart(6)}  ${task.worker} (try ${task.try})`, stream: 'out' })),
        ...(event.unavailable ?? []).map((agent): EventLine => ({ text: unavailableSummaryLine(agent), stream: 'out' })),
      ];
    }
  }
}

/** "run: 9 tasks: 8 done, 1 failed in 12.0s; 3 failed tries were retried". */
function summaryLine(summary: RunSummary): string {
  const tasks = summary.done + summary.failed + summary.released;
  const parts = [`${summary.done} done`, `${summary.failed} failed`, ...(summary.released ? [`${summary.released} handed back`] : [])];
  const retried = summary.retried ? `; ${summary.retried} failed ${summary.retried === 1 ? 'try was' : 'tries were'} retried` : '';
  return `run: ${tasks} ${tasks === 1 ? 'task' : 'tasks'}: ${parts.join(', ')} in ${formatDuration(summary.ms)}${retried}`;
}

/** What a person must know when the breaker opens: which command, why, and until when nothing starts. */
export function unavailableLine(event: Extract<RunEvent, { event: 'agent.unavailable' }>): string {
  const then = event.wait ? `waiting until ${clockTime(event.until)} (or --no-wait to stop)` : 'not waiting (--no-wait): no new try for it; the run ends (exit 8)';
  return `run: agent ${event.command} unavailable: ${event.reason}; ${event.givenBack} tr${event.givenBack === 1 ? 'y' : 'ies'} given back so far (the tasks keep their tries); ${then}`;
}

function unavailableSummaryLine(agent: UnavailableAgent): string {
  const given = `${agent.givenBack} tr${agent.givenBack === 1 ? 'y' : 'ies'} given back, not counted`;
  if (agent.reason === null) return `run: agent ${agent.command} was unavailable ${agent.opened === 1 ? 'once' : `${agent.opened} times`} and worked again (${given})`;
  const still = agent.stopped ? 'the run stopped on it (--no-wait, exit 8)' : agent.until ? `it was to be tried again at ${clockTime(agent.until)}` : 'still unavailable';
  return `run: agent ${agent.command} unavailable: ${agent.reason}; ${given}; ${still}`;
}

/** HH:MM:SS on this machine's clock: a wait of seconds needs the seconds. */
export function clockTime(iso: string): string {
  const at = new Date(iso);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
}
