// `guild-fs graph` drawn by the real renderers: Mermaid through mermaid-cli on Debian's chromium,
// DOT through Graphviz's `dot`. For a 30-task board and a board of hostile titles, every node's
// label (ID, status word, title) must be in the SVG's text as its literal self, and so must the
// legend. Text content, not pixels. The tools are test-only, installed by
// scripts/test-tools/install.sh into a per-user cache; without them this file skips locally and
// FAILS under CI=true, so a CI machine that could not install them never passes silently.
import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers/cli.js';
import { TEST_TOOLS_SOURCE, toolBin, toolsMissing } from './helpers/test-tools.js';
import { tempRepo, type TempRepo } from './helpers/repo.js';

const MMDC = toolBin('graph', 'mmdc');
const PUPPETEER_CONFIG = join(TEST_TOOLS_SOURCE, 'graph', 'puppeteer-config.json');

function missingTools(): string[] {
  const missing: string[] = [];
  if (MMDC === undefined) missing.push('mermaid-cli');
  if (!existsSync('/usr/bin/chromium')) missing.push('/usr/bin/chromium');
  try {
    execFileSync('dot', ['-V'], { stdio: 'ignore' });
  } catch {
    missing.push('graphviz dot');
  }
  return missing;
}
const skip = toolsMissing('the graph render tools', missingTools());

const WORDS: Record<string, string> = { backlog: 'Backlog', blocked: 'Blocked', ready: 'Ready', 'in-progress': 'In Progress', review: 'Review', done: 'Done', failed: 'Failed', unknown: 'Not on the board' };
const SECTIONS = ['Backlog', 'Blocked', 'Ready', 'In Progress', 'Review', 'Done', 'Failed'];

/** A board with `titles[i]` as GLD-(i+1), spread over the statuses; `needs` gives some edges. */
function board(titles: string[], needs: (n: number) => string = () => ''): string {
  const sections = SECTIONS.map((name) => [`## ${name}`]);
  titles.forEach((title, i) => {
    const section = i % SECTIONS.length;
    sections[section]!.push(`- [${SECTIONS[section] === 'Done' ? 'x' : ' '}] GLD-${i + 1} ${title}${needs(i + 1)}`);
  });
  return `---\nguild: 1\nprefix: GLD\n---\n# Active Tasks\n\n${sections.map((s) => s.join('\n')).join('\n\n')}\n`;
}

const HOSTILE = [
  'Wire "login" to the API',
  'style GLD_1 fill:#f00',
  'classDef done fill:#f00;',
  'click GLD_2 call alert(1)',
  '%% not a comment %%{init}%%',
  'a & b &amp; c &#35; &lt;',
  '<b>bold</b> <script>x</script>',
  'back`tick` `code`',
  'brackets [x] {y} (z) |p| ((q)) >r]',
  'semi;colon; and #hash #35;',
  'ünïcødé 😀 中文 ﬂ°°35¶ß',
  'back\\slash \\N \\n \\"',
  "it's 'quoted' end",
  'subgraph end graph TD --> x -.-> y',
];

/** The SVG's drawn text: tags as line breaks, <style> and <title> (tooltips) dropped, entities decoded. */
function svgText(svg: string): string[] {
  return svg
    .replace(/<(style|title)[\s>][\s\S]*?<\/\1>/g, '')
    .replace(/<[^>]+>/g, '\n')
    .split('\n')
    // The word joiner graph-text.ts puts inside Mermaid's own placeholders (`ﬂ°`, `¶ß`) is invisible.
    .map((line) => decodeXml(line).replaceAll('\u2060', '').trim())
    .filter((line) => line !== '');
}
function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (all, name: string) => {
    if (name[0] === '#') return String.fromCodePoint(name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1)));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' } as Record<string, string>)[name] ?? all;
  });
}

let repos: TempRepo[] = [];
let scratch: string[] = [];
afterEach(() => {
  for (const repo of repos) repo.remove();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  repos = [];
  scratch = [];
});

interface Drawn {
  labels: string[];
  /** The legend's words: one per status drawn. */
  legend: Set<string>;
  mermaid: string;
  dot: string;
}
function drawn(text: string): Drawn {
  const repo = tempRepo(text);
  repos.push(repo);
  const run = (args: string[]) => {
    const result = cli(['graph', '--all', '--json', ...args], { cwd: repo.dir });
    assert.equal(result.code, 0, result.stderr);
    return result.json!.result;
  };
  const mermaid = run(['--mermaid']);
  const labels = (mermaid.nodes as { id: string; title: string; status: string }[]).map((node) =>
    node.status === 'unknown' ? `${node.id}: ${node.title}` : `${node.id} · ${WORDS[node.status]}: ${node.title}`,
  );
  const legend = new Set((mermaid.nodes as { status: string }[]).map((node) => WORDS[node.status]!));
  return { labels, legend, mermaid: mermaid.text, dot: run(['--dot']).text };
}

function render(tool: 'mermaid' | 'dot', source: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'guild-fs-render-'));
  scratch.push(dir);
  const input = join(dir, tool === 'mermaid' ? 'graph.mmd' : 'graph.dot');
  const output = join(dir, 'graph.svg');
  writeFileSync(input, source);
  if (tool === 'mermaid') execFileSync(MMDC!, ['-q', '-p', PUPPETEER_CONFIG, '-i', input, '-o', output], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: '1' } });
  else execFileSync('dot', ['-Tsvg', '-o', output, input], { stdio: ['ignore', 'ignore', 'pipe'] });
  return svgText(readFileSync(output, 'utf8'));
}

function assertDrawn(text: string[], graph: Drawn, tool: string): void {
  const lines = new Set(text);
  for (const label of graph.labels) assert.ok(lines.has(label), `${tool}: label ${JSON.stringify(label)} is not in the SVG text:\n${text.join('\n')}`);
  // The legend: its title and one entry per status drawn, each a text of its own.
  assert.ok(lines.has('Legend'), `${tool}: no legend`);
  for (const word of graph.legend) assert.ok(lines.has(word), `${tool}: the legend has no ${word}`);
  // Nothing else: a title that broke out of its label would leave text of its own.
  const expected = new Set([...graph.labels, 'Legend', ...graph.legend]);
  for (const line of text) assert.ok(expected.has(line), `${tool}: unexpected text ${JSON.stringify(line)}`);
}

describe('guild-fs graph, drawn by mermaid-cli and Graphviz', { skip }, () => {
  const thirty = board(
    Array.from({ length: 30 }, (_, i) => `Task number ${i + 1} of the plan`),
    (n) => (n > 3 && n % 7 !== 6 ? ` needs:GLD-${n - 3}` : ''),
  );
  const hostile = board(HOSTILE, (n) => (n === 2 ? ' needs:GLD-1,GLD-404' : ''));

  test('a 30-task board: every label and the legend in the Mermaid SVG', () => {
    const graph = drawn(thirty);
    assert.equal(graph.labels.length, 30);
    assertDrawn(render('mermaid', graph.mermaid), graph, 'mermaid');
  });
  test('a 30-task board: every label and the legend in the DOT SVG', () => {
    const graph = drawn(thirty);
    assertDrawn(render('dot', graph.dot), graph, 'dot');
  });
  test('hostile titles are their literal text in the Mermaid SVG', () => {
    const graph = drawn(hostile);
    assert.equal(graph.labels.length, HOSTILE.length + 1);
    assertDrawn(render('mermaid', graph.mermaid), graph, 'mermaid');
  });
  test('hostile titles are their literal text in the DOT SVG', () => {
    const graph = drawn(hostile);
    assertDrawn(render('dot', graph.dot), graph, 'dot');
  });
});
