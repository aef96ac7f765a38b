// The fast scanner against the reference reader. Wherever scanOutline answers, its outline must
// be exactly what remark makes of the same lines: same headings (line, depth, text) and same
// top-level task items (line, last line, checked). Where it declines (null), remark is used,
// which is always correct but slow; the fast path must still be taken for ordinary boards.
//
// Inputs: every hand-written fixture (fixtures/boards, broken ones included: the outline does
// not care whether the tasks validate), generated boards in LF and CRLF, and a few hundred
// fixtures with random Markdown constructs spliced in at random places.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { generateBoard, mulberry32 } from '../bench/generate-board.js';
import { readFrontMatter } from '../src/board/front-matter.js';
import { parseBoard, splitLines } from '../src/board/parse-board.js';
import { remarkOutline } from '../src/board/remark-outline.js';
import { scanOutline } from '../src/board/scan-outline.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'boards');

/** Fixtures written only in the Markdown subset the scanner models: it must answer for them. */
const SCANNER_FIXTURES = [
  '01-spec-example.md',
  '02-crlf.md',
  '04-unicode.md',
  '05-html-comments.md',
  '06-tables.md',
  '07-code-blocks.md',
  '09-nested-loose.md',
  '10-backticks-handtyped.md',
  '11-custom-sections.md',
  '12-no-front-matter.md',
  '13-missing-section-no-eol.md',
  '15-odd-headings.md',
  '17-bom.md',
];
/** Fixtures with Markdown the scanner declines on purpose, and why. */
const REMARK_FIXTURES: Record<string, string> = {
  '03-tabs.md': 'tabs in indentation',
  '08-quotes-setext.md': 'block quotes and setext headings',
  '14-free-text-notes.md': 'a lazy continuation line under a task',
  '16-ordered-html.md': 'ordered lists and raw HTML blocks',
};

function fixtureNames(dir = FIXTURES): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .sort();
}

function readFixture(name: string, dir = FIXTURES): string {
  return readFileSync(join(dir, name), 'utf8');
}

interface Markdown {
  lines: string[];
  firstLine: number;
}

/** The lines the readers are given, prepared as parseBoard prepares them. */
async function markdownOf(text: string): Promise<Markdown> {
  const { lines } = splitLines(text);
  let endLine = 0;
  try {
    endLine = (await readFrontMatter('ACTIVE_TASKS.md', lines)).endLine;
  } catch {
    // Broken front matter: parseBoard stops there, but its lines still make a fine Markdown test.
  }
  const markdownLines = endLine === 0 && lines[0]?.startsWith('\uFEFF') ? [lines[0].slice(1), ...lines.slice(1)] : lines;
  return { lines: markdownLines, firstLine: endLine + 1 };
}

interface Tally {
  scanner: number;
  remark: number;
  /** Boards the readers disagreed on, as reproducible text. */
  mismatches: string[];
}

const newTally = (): Tally => ({ scanner: 0, remark: 0, mismatches: [] });

/**
 * Compares the readers on one board; returns which one parseBoard would use. A disagreement
 * fails at once, or with a tally is collected so that one run shows every failing input.
 */
async function checkBoard(name: string, text: string, tally?: Tally): Promise<'scanner' | 'remark'> {
  const { lines, firstLine } = await markdownOf(text);
  const scanned = scanOutline(lines, firstLine);
  if (tally) tally[scanned ? 'scanner' : 'remark']++;
  if (!scanned) return 'remark';
  const reference = remarkOutline(lines, firstLine);
  if (tally) {
    if (!isDeepStrictEqual(scanned, reference)) tally.mismatches.push(`${name}: ${JSON.stringify(text)}\n  scanner: ${JSON.stringify(scanned)}\n  remark:  ${JSON.stringify(reference)}`);
  } else {
    assert.deepEqual(scanned, reference, `scanner and remark disagree on ${name}; board text: ${JSON.stringify(text)}`);
  }
  return 'scanner';
}

function assertNoMismatches(tally: Tally): void {
  const shown = tally.mismatches.slice(0, 15).join('\n');
  assert.equal(tally.mismatches.length, 0, `scanner and remark disagree on ${tally.mismatches.length} boards:\n${shown}`);
}

/** Markdown that boards are made of, and Markdown that trips line scanners. */
const CONSTRUCTS: string[] = [
  '',
  '   ',
  '\t',
  'plain text',
  '===',
  '---',
  '***',
  '- - -',
  '___',
  '--',
  '-',
  '- ',
  '*',
  '+ x',
  '-foo',
  '> quote',
  '> - [ ] GLD-190 quoted',
  '>',
  '<div>',
  '</div>',
  '<span>inline</span>',
  '<!-- c -->',
  '<!--',
  '-->',
  '<!-- a\n- [ ] GLD-191 in a comment\n-->',
  '<!-->',
  '<!--->',
  '<!---->',
  '<?php echo 1; ?>',
  '1. one',
  '1) one',
  '2. two',
  '```',
  '```js',
  '~~~',
  '````',
  '``` `x`',
  '```\n- [ ] GLD-192 fenced\n## Done\n```',
  '~~~\n## Ready\n~~~',
  '    indented code',
  '        deep code',
  '  body line',
  '   three spaces',
  ' one space',
  '\t- [ ] GLD-193 tab-indented',
  '  \tmixed',
  '- [ ] GLD-194 inserted task',
  '- [ ] inserted without an ID',
  '- [x] GLD-195 inserted done',
  '* [ ] GLD-196 star',
  '+ [X] GLD-197 plus',
  '- [ ]',
  '- [ ] ',
  '- [x]',
  '- [ ]\ttab after the box',
  '- [ ]x',
  '-  [ ] two spaces',
  '-    [ ] four spaces',
  '-     [ ] five spaces',
  ' - [ ] one space',
  '   - [ ] three spaces',
  '    - [ ] four-space indent',
  '  - [ ] nested',
  '- [ ] GLD-198 setext under a task\n  ---',
  '- [ ] GLD-199 table under a task\n  |---|',
  '- [ ] GLD-200 box then a body\n  more',
  '- [ ]\n  body under an empty box',
  '- [ ] \n  body under a box and a space',
  '- [ ] GLD-201 fence in the body\n  ```',
  '- [ ] GLD-202 comment in the body\n  <!-- open',
  '- # heading item',
  '- > quote item',
  '- ```',
  '  ---',
  '  ===',
  '  |---|',
  '  :--',
  '  | a | b |\n  |---|---|',
  '## Done',
  '## Ready',
  '## In Progress',
  '# Title',
  '####### seven',
  '#no space',
  '##',
  '## #',
  '## Ready ##',
  '## Ready #not closing',
  '  ## indented heading',
  '    ## code, not a heading',
  '##\tReady',
  'Ready\n-----',
  'Done\n===',
  '| a | b |\n|---|---|\n| c | d |',
  'a | b\n- | -',
  '|---|',
  ':--',
  '[link]: http://example.com',
  '[^1]: a footnote',
  '\u00a0- [ ] after a no-break space',
  '- [ ] GLD-203 line\u2028separator',
  '## Ready\u2028',
  'a carriage\rreturn',
  '- [ ] GLD-204 carriage\rreturn',
  '$$\nmath\n$$',
  'Term\n: definition',
];
const INDENTS = ['', '', '', '', ' ', '  ', '   ', '    ', '\t'];
/** Endings glued onto an existing line. */
const SUFFIXES = [' #', ' ##', '#', '\t', '  ', ' <!--', ' -->', ' |', ' \\', ' `', ' ```', ' needs:GLD-1', '\u2028', '\r'];

async function mutate(text: string, random: () => number, count = 1 + Math.floor(random() * 3)): Promise<string> {
  const { lines, eols } = splitLines(text);
  const eol = eols.find((e) => e !== '') ?? '\n';
  const { firstLine } = await markdownOf(text);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const out = [...lines];
  // Never inside the front matter: that is YAML, not Markdown.
  const anywhere = (extra: number): number => firstLine - 1 + Math.floor(random() * (out.length - firstLine + 1 + extra));
  for (let i = 0; i < count; i++) {
    const roll = random();
    if (roll < 0.6 || out.length < firstLine) {
      const indent = pick(INDENTS);
      const construct = pick(CONSTRUCTS)
        .split('\n')
        .map((line, index) => (index === 0 ? indent + line : line));
      out.splice(anywhere(1), 0, ...construct);
    } else if (roll < 0.7) {
      const at = anywhere(0);
      out[at] = pick(INDENTS.slice(4)) + out[at];
    } else if (roll < 0.8) {
      const at = anywhere(0);
      out[at] = out[at]!.replace(/^ +/, '');
    } else if (roll < 0.9) {
      const at = anywhere(0);
      out[at] += pick(SUFFIXES);
    } else {
      out.splice(anywhere(0), 1);
    }
  }
  return out.join(eol) + (text.endsWith('\n') ? eol : '');
}

describe('scanOutline agrees with remarkOutline', () => {
  test('hand-written fixtures', async (t) => {
    const tally = newTally();
    const declined: string[] = [];
    for (const name of fixtureNames()) {
      if (await checkBoard(name, readFixture(name), tally) === 'remark') declined.push(name);
    }
    const brokenDir = join(FIXTURES, 'broken');
    for (const name of fixtureNames(brokenDir)) await checkBoard(`broken/${name}`, readFixture(name, brokenDir), tally);
    assertNoMismatches(tally);
    t.diagnostic(`fixtures: scanner ${tally.scanner}, remark fallback ${tally.remark} (${declined.join(', ')})`);
  });

  test('fixtures with their line ends swapped (LF <-> CRLF)', async () => {
    for (const name of fixtureNames()) {
      const text = readFixture(name);
      const swapped = text.includes('\r\n') ? text.replace(/\r\n/g, '\n') : text.replace(/\n/g, '\r\n');
      await checkBoard(`${name} (line ends swapped)`, swapped);
    }
  });

  test('the scanner answers for fixtures in the subset it models', async () => {
    for (const name of SCANNER_FIXTURES) {
      const text = readFixture(name);
      assert.equal(await checkBoard(name, text), 'scanner', `${name} should be read by the fast scanner`);
      assert.equal(await checkBoard(`${name} (CRLF)`, text.replace(/\r?\n/g, '\r\n')), 'scanner');
    }
    // Every fixture is either in the list above or declined for a stated reason.
    assert.deepEqual(fixtureNames(), [...SCANNER_FIXTURES, ...Object.keys(REMARK_FIXTURES)].sort());
  });

  test('parseBoard reports the reader it used, and both readers give the same board', async () => {
    for (const name of fixtureNames()) {
      const text = readFixture(name);
      const auto = await parseBoard('ACTIVE_TASKS.md', text);
      const remark = await parseBoard('ACTIVE_TASKS.md', text, { reader: 'remark' });
      assert.equal(auto.reader, SCANNER_FIXTURES.includes(name) ? 'scanner' : 'remark', name);
      assert.equal(remark.reader, 'remark');
      assert.deepEqual(auto.sections, remark.sections, name);
      assert.deepEqual(auto.tasks, remark.tasks, name);
    }
  });

  test('generated boards, LF and CRLF: the scanner answers and agrees', async () => {
    let boards = 0;
    for (const tasks of [1, 50, 500]) {
      for (const seed of [1, 2, 42]) {
        for (const eol of ['\n', '\r\n'] as const) {
          const text = generateBoard({ tasks, seed, eol });
          assert.equal(await checkBoard(`generated ${tasks}/${seed}/${JSON.stringify(eol)}`, text), 'scanner');
          boards++;
        }
      }
    }
    assert.equal(boards, 18);
  });

  test('randomly mutated fixtures', async (t) => {
    const tally = newTally();
    const names = fixtureNames();
    const random = mulberry32(Number(process.env.GUILD_MUTATION_SEED ?? 20261121));
    const rounds = Number(process.env.GUILD_MUTATION_ROUNDS ?? 800);
    for (let round = 0; round < rounds; round++) {
      const name = names[round % names.length]!;
      let text = readFixture(name);
      if (round % 3 === 0) text = text.replace(/\r?\n/g, '\r\n');
      const mutated = await mutate(text, random);
      await checkBoard(`${name} mutation #${round}`, mutated, tally);
    }
    assertNoMismatches(tally);
    t.diagnostic(`mutated boards: scanner ${tally.scanner}, remark fallback ${tally.remark}`);
    // Most mutations add something the scanner declines, but not all: the comparison must bite.
    assert.ok(tally.scanner >= rounds / 10, `only ${tally.scanner} of ${rounds} mutated boards reached the comparison`);
  });

  test('each construct alone, at each indent, after a task line and after a paragraph', async (t) => {
    const tally = newTally();
    const heads = ['', '## Ready\n- [ ] GLD-1 a task\n', '## Ready\n- [ ] GLD-1 a task\n\n', 'A paragraph\n', '## Ready\n- [ ] GLD-1 a task\n  body\n'];
    const tails = ['\n', '\n- [ ] GLD-2 after\n', '\n## Done\n- [x] GLD-3 done\n'];
    for (const construct of CONSTRUCTS) {
      for (const indent of ['', '  ', '    ', '\t']) {
        for (const head of heads) {
          for (const tail of tails) {
            const text = `${head}${indent}${construct}${tail}`;
            await checkBoard(JSON.stringify(text), text, tally);
          }
        }
      }
    }
    assertNoMismatches(tally);
    t.diagnostic(`construct grid: scanner ${tally.scanner}, remark fallback ${tally.remark}`);
  });

  // Disagreements this test found, each pinned to what CommonMark + GFM say.
  const regressions: { what: string; text: string; items: [number, number, boolean][]; headings?: [number, string][] }[] = [
    { what: 'a setext underline under a task line makes it a heading, not a task', text: '- [ ] GLD-1 x\n  ---\n', items: [] },
    { what: 'so does one under a continuation line', text: '- [ ] GLD-1 x\n  more\n  ===\n', items: [] },
    { what: 'a delimiter row right under a task line makes it a table header', text: '- [ ] GLD-1 x\n  |---|\n', items: [] },
    { what: 'a table further down the body leaves the task be', text: '- [ ] GLD-1 x\n  a | b\n  --|--\n', items: [[1, 3, false]] },
    { what: 'a bare box with a body under it is a task', text: '- [ ]\n  body\n', items: [[1, 2, false]] },
    { what: 'a bare box alone is not', text: '- [ ]\n\n## Done\n', items: [], headings: [[3, 'Done']] },
    { what: 'a fence left open in a body ends with the item', text: '- [ ] GLD-1 x\n  ```\n- [ ] GLD-2 y\n  ```\n', items: [[1, 2, false], [3, 4, false]] },
    { what: 'so does an HTML comment left open', text: '- [ ] GLD-1 x\n  <!-- a\n- [ ] GLD-2 y\n', items: [[1, 2, false], [3, 3, false]] },
    { what: 'blank lines kept in an open fence are not the task\'s', text: '- [ ] GLD-1 x\n  ```\n\n- [ ] GLD-2 y\n', items: [[1, 2, false], [4, 4, false]] },
    { what: 'a lone CR does not shift line numbers', text: '- [ ] GLD-1 a\r## Done\n- [x] GLD-2 b\n', items: [[1, 1, false], [2, 2, true]] },
    { what: 'lines ending in CR CR LF keep their numbers', text: '## Ready\r\r\n- [ ] GLD-1 a\r\r\n\r\r\n## Done\r\r\n- [x] GLD-2 b\r\r\n', items: [[2, 2, false], [5, 5, true]], headings: [[1, 'Ready'], [4, 'Done']] },
    { what: '`## #` is an empty heading', text: '## #\n## # #\n## Done ##\n', items: [], headings: [[1, ''], [2, '#'], [3, 'Done']] },
    { what: '`<!-->` is a whole comment', text: '<!-->\n- [ ] GLD-1 x\n<!--->\n- [ ] GLD-2 y\n', items: [[2, 2, false], [4, 4, false]] },
    { what: 'U+2028 inside a heading or a task line is text', text: '## Ready\u2028\n- [ ] GLD-1 a\u2028b\n', items: [[2, 2, false]], headings: [[1, 'Ready']] },
  ];
  for (const { what, text, items, headings } of regressions) {
    test(`regression: ${what}`, async () => {
      const { lines, firstLine } = await markdownOf(text);
      const reference = remarkOutline(lines, firstLine);
      assert.deepEqual(
        reference.items.map((item) => [item.line, item.endLine, item.checked]),
        items,
      );
      if (headings) assert.deepEqual(reference.headings.map((heading) => [heading.line, heading.text]), headings);
      await checkBoard(what, text);
    });
  }
});
