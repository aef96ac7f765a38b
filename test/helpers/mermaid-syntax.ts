// A parser for the Mermaid that `guild-fs graph` emits, and nothing more: the header, node
// declarations `id["label"]` in the shapes graph-text.ts uses (`("…")`, `(["…"])`, `[["…"]]`,
// `{{"…"}}`, `>"…"]`, `[/"…"/]`), edges `a --> b` and `a -.-> b`, one `subgraph Legend["…"]` …
// `end` of node declarations, classDef, class lines and %% comments. Anything else is rejected with its line, so a test that feeds it the output proves
// the output stays inside the subset known to render (on GitHub, as it is). Labels are decoded
// (Mermaid's `#quot;`, `#35;` entity codes), so nodes can be compared with the board's tasks.

export interface MermaidFlowchart {
  direction: string;
  /** id -> decoded label, in declaration order (the legend's nodes not among them). */
  nodes: Map<string, string>;
  /** id -> the shape's opening brackets, for every node the legend's included. */
  shapes: Map<string, string>;
  /** The legend's nodes: id -> decoded label. */
  legend: Map<string, string>;
  edges: { from: string; to: string; dashed: boolean }[];
  classDefs: Map<string, string>;
  /** id -> its class. */
  classes: Map<string, string>;
  comments: string[];
}

const ID = '[A-Za-z][A-Za-z0-9_]*';
const SHAPES: Record<string, string> = { '["': '"]', '("': '")', '(["': '"])', '[["': '"]]', '{{"': '"}}', '>"': '"]', '[/"': '"/]' };
const NODE = new RegExp(`^(${ID})(\\(\\[|\\[\\[|\\{\\{|\\[/|\\[|\\(|>)"(.*)("\\]\\]|"\\]\\)|"\\}\\}|"/\\]|"\\]|"\\))$`);
// Words the flowchart grammar reads as keywords wherever an id may stand.
const RESERVED = new Set(['end', 'graph', 'flowchart', 'subgraph', 'classdef', 'class', 'click', 'style', 'linkstyle', 'default', 'direction', 'call', 'href']);
const NAMED: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>' };
// What may stand in a label as itself: printable, and nothing the grammar or HTML reads (nor `:`,
// which lets Mermaid's style/classDef hack eat a `;`, see graph-text.ts).
const LABEL_CHAR = /[^"\[\]<>#`{}|%&:\\\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/u;

export class MermaidSyntaxError extends Error {}

export function parseMermaid(text: string): MermaidFlowchart {
  if (!text.endsWith('\n')) throw new MermaidSyntaxError('no newline at the end');
  const lines = text.slice(0, -1).split('\n');
  const fail = (at: number, what: string): never => {
    throw new MermaidSyntaxError(`line ${at + 1}: ${what}: ${JSON.stringify(lines[at])}`);
  };
  const header = /^flowchart (TD|TB|LR|RL|BT)$/.exec(lines[0] ?? '');
  if (!header) fail(0, 'expected the header `flowchart TD`');
  const chart: MermaidFlowchart = { direction: header![1]!, nodes: new Map(), shapes: new Map(), legend: new Map(), edges: [], classDefs: new Map(), classes: new Map(), comments: [] };
  const used: { at: number; id: string }[] = [];
  const classUses: { at: number; name: string }[] = [];
  const id = (at: number, value: string): string => {
    if (!new RegExp(`^${ID}$`).test(value)) fail(at, `not an id: ${value}`);
    if (RESERVED.has(value.toLowerCase())) fail(at, `a keyword as an id: ${value}`);
    return value;
  };
  const declare = (at: number, match: RegExpExecArray, into: Map<string, string>): void => {
    const node = id(at, match[1]!);
    if (chart.shapes.has(node)) fail(at, `node ${node} declared twice`);
    chart.shapes.set(node, match[2]!);
    into.set(node, decodeLabel(match[3]!, (what) => fail(at, what)));
  };
  let inLegend = false;
  let legends = 0;
  for (let at = 1; at < lines.length; at++) {
    if (inLegend && lines[at] === '  end') {
      inLegend = false;
      continue;
    }
    const indent = inLegend ? '    ' : '  ';
    if (!lines[at]!.startsWith(indent) || lines[at]![indent.length] === ' ') fail(at, 'wrong indent');
    const line = lines[at]!.slice(indent.length);
    let match: RegExpExecArray | null;
    if (inLegend) {
      match = NODE.exec(line);
      if (match && SHAPES[`${match[2]}"`] === match[4]) declare(at, match, chart.legend);
      else fail(at, 'not a node declaration in the legend');
    } else if ((match = /^subgraph Legend\["Legend"\]$/.exec(line))) {
      if (++legends > 1) fail(at, 'a second legend');
      inLegend = true;
    } else if (line.startsWith('%%')) {
      // %%{...}%% is a directive, not a comment.
      if (line.startsWith('%%{')) fail(at, 'a directive');
      chart.comments.push(line.slice(2).trim());
    } else if ((match = NODE.exec(line)) && SHAPES[`${match[2]}"`] === match[4]) {
      declare(at, match, chart.nodes);
    } else if ((match = new RegExp(`^(${ID}) (-->|-\\.->) (${ID})$`).exec(line))) {
      chart.edges.push({ from: id(at, match[1]!), to: id(at, match[3]!), dashed: match[2] === '-.->' });
      used.push({ at, id: match[1]! }, { at, id: match[3]! });
    } else if ((match = new RegExp(`^classDef (${ID}) ([a-z-]+:[#A-Za-z0-9 .]+(?:,[a-z-]+:[#A-Za-z0-9 .]+)*)$`).exec(line))) {
      const name = id(at, match[1]!);
      if (chart.classDefs.has(name)) fail(at, `classDef ${name} twice`);
      chart.classDefs.set(name, match[2]!);
    } else if ((match = new RegExp(`^class (${ID}(?:,${ID})*) (${ID})$`).exec(line))) {
      for (const node of match[1]!.split(',')) {
        id(at, node);
        if (chart.classes.has(node)) fail(at, `${node} given a second class`);
        chart.classes.set(node, match[2]!);
        used.push({ at, id: node });
      }
      classUses.push({ at, name: match[2]! });
    } else fail(at, 'not part of the subset');
  }
  if (inLegend) fail(lines.length - 1, 'the legend has no end');
  for (const use of used) if (!chart.shapes.has(use.id)) fail(use.at, `${use.id} is not declared`);
  for (const use of classUses) if (!chart.classDefs.has(use.name)) fail(use.at, `class ${use.name} has no classDef`);
  return chart;
}

function decodeLabel(label: string, fail: (what: string) => never): string {
  let out = '';
  for (let i = 0; i < label.length; ) {
    const char = String.fromCodePoint(label.codePointAt(i)!);
    if (char === '#') {
      const entity = /^#([a-z]+|[0-9]+);/.exec(label.slice(i));
      if (!entity) fail(`a # that starts no entity code at ${i}`);
      const name = entity![1]!;
      if (/^[0-9]+$/.test(name)) out += String.fromCodePoint(Number(name));
      else if (NAMED[name] !== undefined) out += NAMED[name];
      else fail(`unknown entity #${name};`);
      i += entity![0].length;
      continue;
    }
    if (!LABEL_CHAR.test(char) || /^\p{Surrogate}$/u.test(char)) fail(`${JSON.stringify(char)} in a label`);
    out += char;
    i += char.length;
  }
  return out;
}
