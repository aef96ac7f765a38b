import { STATUSES, type Status } from './types.js';

export const DEFAULT_HEADINGS: Record<Status, string> = {
  backlog: 'Backlog',
  blocked: 'Blocked',
  ready: 'Ready',
  'in-progress': 'In Progress',
  review: 'Review',
  done: 'Done',
  failed: 'Failed',
};

/** "In Progress", "in-progress" and "IN  progress" are one heading. */
export function normalizeHeading(text: string): string {
  return text.trim().toLowerCase().replace(/[\s_-]+/g, ' ');
}

export function statusMatcher(headings: Record<Status, string>): (text: string) => Status | null {
  const byText = new Map<string, Status>();
  for (const status of STATUSES) {
    byText.set(normalizeHeading(status), status);
    byText.set(normalizeHeading(headings[status]), status);
  }
  return (text) => byText.get(normalizeHeading(text)) ?? null;
}

export function isStatus(value: string): value is Status {
  return (STATUSES as readonly string[]).includes(value);
}
