// What an agent CLI prints when it is the CLI that is broken, not the task: not logged in, a bad
// key, a rate or usage limit. The patterns (defaults for the recipes' CLIs, plus a profile's
// `unavailable:` and `run --unavailable`), and the reset time such a message names, if any.

import { compileLinePattern, type LinePattern } from '../line-pattern.js';

/** One `unavailable:` pattern: `/.../flags` is a regular expression, anything else a case-insensitive substring (line-pattern.ts). */
export type UnavailablePattern = LinePattern;

/**
 * What Claude Code, Codex and Gemini CLI print (on stderr, exiting non-zero) when they cannot
 * work at all: logged out or a bad key (401), rate or usage limits and quotas (429). Matched only
 * against the last lines of a try that failed, so a word in a long transcript does not trip them.
 */
export const DEFAULT_UNAVAILABLE: readonly string[] = [
  '/not logged in|please (run )?\\/?log ?in|login required|you are not authenticated/i',
  '/invalid[ _-]?(api[ _-]?)?key|api key not valid|incorrect api key|no api key|api[ _-]?key (is )?(missing|not set|required)/i',
  '/authentication[ _-]?(error|failed|required)|oauth token (has )?expired|\\b401\\b.*(unauthori[sz]ed|auth)/i',
  '/rate[ _-]?limit(ed)?|too many requests|\\b429\\b/i',
  '/usage limit|quota (exceeded|exhausted)|exceeded your current quota|resource[ _-]?exhausted|credit balance is too low/i',
];

/** A pattern as written; a `/.../` one that is no regular expression throws a SyntaxError (front-matter.ts says where). */
export const compilePattern = compileLinePattern;

export function compilePatterns(sources: readonly string[]): UnavailablePattern[] {
  return sources.map(compilePattern);
}

/** The last line of `lines` that matches a pattern, trimmed (null: none does). */
export function matchUnavailable(lines: readonly string[], patterns: readonly UnavailablePattern[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line !== '' && patterns.some((pattern) => pattern.test(line))) return line;
  }
  return null;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 };
/** Further than this is a misread, or a limit no run should sit out: the backoff decides instead. */
const MAX_RESET_MS = 24 * 3_600_000;

/**
 * When the CLI says it will work again, from its own words: "try again in 5 minutes", "retry
 * after 30s", "resets at 3pm" (the next such local time), an ISO time, or Claude Code's
 * "usage limit reached|<epoch seconds>". Null when none is found, or the time is past or a day off.
 */
export function resetTime(lines: readonly string[], now: number): number | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const at = resetIn(lines[i]!, now);
    if (at !== null && at > now && at - now <= MAX_RESET_MS) return at;
  }
  return null;
}

function resetIn(line: string, now: number): number | null {
  const relative = /\b(?:in|after)\s+(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\b/i.exec(line);
  if (relative) return now + Number(relative[1]) * UNIT_MS[relative[2]!.toLowerCase()[0]!]!;
  const iso = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/.exec(line);
  if (iso) {
    const at = Date.parse(iso[0]);
    if (!Number.isNaN(at)) return at;
  }
  const epoch = /\|(\d{10})\b/.exec(line);
  if (epoch) return Number(epoch[1]) * 1_000;
  const clock = /\bresets?\s+(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b/i.exec(line);
  if (clock) return nextClockTime(now, Number(clock[1]), Number(clock[2] ?? 0), clock[3]?.toLowerCase());
  return null;
}

/** The next local time `hour:minute` (12-hour with am/pm) after `now`. */
function nextClockTime(now: number, hour: number, minute: number, half: string | undefined): number | null {
  if (half !== undefined && (hour < 1 || hour > 12)) return null;
  const h = half === 'pm' ? (hour % 12) + 12 : half === 'am' ? hour % 12 : hour;
  if (h > 23 || minute > 59) return null;
  const at = new Date(now);
  at.setHours(h, minute, 0, 0);
  if (at.getTime() <= now) at.setDate(at.getDate() + 1);
  return at.getTime();
}
