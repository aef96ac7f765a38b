// The storm's board (issue 10): front matter with a key guild-fs does not know, hand-written
// free text of several kinds (each line a sentinel that must survive), 40 Ready tasks, and a
// `## Notes` section at the end where the person types.
export const SEED_TASKS = 40;
export const FRONT_MATTER = ['---', 'guild: 1', 'prefix: GLD', 'lock_ttl: 1h', 'max_tries: 3', 'storm_sentinel: the front matter is kept', '---'].join('\n');
/** Hand-written lines that every write must keep, each exactly once. */
export const SENTINELS = [
  '# Active Tasks',
  'Intro sentinel: a person wrote this paragraph by hand, with *emphasis* and a [link](https://example.com).',
  'It must survive the storm byte for byte.',
  '<!-- storm sentinel: an HTML comment -->',
  '| sentinel | table |',
  '|---|---|',
  'Notes sentinel: the person types below this line.',
];

export function stormBoard(): string {
  const lines = [FRONT_MATTER, SENTINELS[0]!, '', SENTINELS[1]!, SENTINELS[2]!, '', SENTINELS[3]!, '', SENTINELS[4]!, SENTINELS[5]!, '', '## Ready'];
  for (let i = 1; i <= SEED_TASKS; i++) lines.push(`- [ ] GLD-${i} Seed task ${i}`);
  lines.push('', '## In Progress', '', '## Done', '', '## Failed', '', '## Notes', '', SENTINELS[6]!, '');
  return lines.join('\n');
}
