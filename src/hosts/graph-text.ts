// The dependency graph as text: Mermaid (renders on GitHub as it is, in a ```mermaid fence) and
// Graphviz DOT. Titles are the board's, that is anyone's input: every label is escaped so that
// no title can end a label, start a statement or a comment, or inject HTML into the page.
// A status is told by four things at once, not by colour alone: the node's shape, its border
// (dotted, dashed, thick, double), its fill, and its name in the label; a legend says which is which.
import type { GraphNode, TaskGraph } from './task-graph.js';

type Kind = GraphNode['status'];

interface Look {
  /** The name a person reads in the label and the legend. */
  word: string;
  fill: string;
  stroke: string;
  /** Label text: at least 7:1 against the fill (WCAG AAA), on GitHub's light and dark themes alike. */
  text: string;
  /** Mermaid's node shape: the brackets around the quoted label. */
  mermaid: readonly [string, string];
  /** Extra Mermaid style (border width, dashes). */
  mermaidBorder: string;
  /** DOT shape and style (the closest Graphviz has to the Mermaid shape). */
  dot: string;
}

const LOOKS: Record<Kind, Look> = {
  // Backlog and Done are the two ends of the board: white and dotted against dark and thick.
  backlog: { word: 'Backlog', fill: '#ffffff', stroke: '#495057', text: '#212529', mermaid: ['["', '"]'], mermaidBorder: ',stroke-width:2px,stroke-dasharray:2 3', dot: 'shape=box, style="dotted,filled", penwidth=2' },
  blocked: { word: 'Blocked', fill: '#ffe8cc', stroke: '#d9480f', text: '#212529', mermaid: ['{{"', '"}}'], mermaidBorder: ',stroke-width:2px', dot: 'shape=hexagon, style="filled", penwidth=2' },
  ready: { word: 'Ready', fill: '#d3f9d8', stroke: '#2b8a3e', text: '#212529', mermaid: ['(["', '"])'], mermaidBorder: ',stroke-width:2px', dot: 'shape=ellipse, style="filled", penwidth=2' },
  'in-progress': { word: 'In Progress', fill: '#d0ebff', stroke: '#1864ab', text: '#212529', mermaid: ['("', '")'], mermaidBorder: ',stroke-width:4px', dot: 'shape=box, style="rounded,filled", penwidth=4' },
  review: { word: 'Review', fill: '#fff3bf', stroke: '#e67700', text: '#212529', mermaid: ['[["', '"]]'], mermaidBorder: ',stroke-width:2px', dot: 'shape=box, style="filled", peripheries=2' },
  done: { word: 'Done', fill: '#343a40', stroke: '#000000', text: '#ffffff', mermaid: ['["', '"]'], mermaidBorder: ',stroke-width:4px', dot: 'shape=box, style="filled", penwidth=4' },
  failed: { word: 'Failed', fill: '#ffc9c9', stroke: '#c92a2a', text: '#212529', mermaid: ['>"', '"]'], mermaidBorder: ',stroke-width:4px', dot: 'shape=octagon, style="filled", penwidth=4' },
  unknown: { word: 'Not on the board', fill: '#ffffff', stroke: '#868e96', text: '#212529', mermaid: ['[/"', '"/]'], mermaidBorder: ',stroke-width:2px,stroke-dasharray:6 4', dot: 'shape=parallelogram, style="dashed,filled", penwidth=2' },
};
const KINDS = Object.keys(LOOKS) as Kind[];

export function mermaidGraph(graph: TaskGraph): string {
  const lines = ['flowchart TD'];
  const byKind = new Map<Kind, string[]>();
  for (const node of graph.nodes) {
    const id = mermaidId(node);
    const [open, close] = LOOKS[node.status].mermaid;
    lines.push(`  ${id}${open}${mermaidLabel(label(node))}${close}`);
    const ids = byKind.get(node.status);
    if (ids) ids.push(id);
    else byKind.set(node.status, [id]);
  }
  for (const edge of graph.edges) lines.push(edge.unknown ? `  ${unknownId(edge.from)} -.-> ${taskId(edge.to)}` : `  ${taskId(edge.from)} --> ${taskId(edge.to)}`);
  // A cycle is drawn as its edges, like any other; the comment says it for whoever reads the source.
  for (const cycle of graph.cycles) lines.push(`  %% cycle: ${cycle.join(' needs ')}`);
  const shown = KINDS.filter((kind) => byKind.has(kind));
  // The legend: one node per status drawn, in the board's order. `Legend_` has lower case
  // letters, which no task ID has, and is no keyword.
  if (shown.length > 0) {
    lines.push('  subgraph Legend["Legend"]');
    for (const kind of shown) {
      const [open, close] = LOOKS[kind].mermaid;
      lines.push(`    ${legendId(kind)}${open}${mermaidLabel(LOOKS[kind].word)}${close}`);
    }
    lines.push('  end');
  }
  for (const kind of shown) {
    const { fill, stroke, text, mermaidBorder } = LOOKS[kind];
    lines.push(`  classDef ${className(kind)} fill:${fill},stroke:${stroke},color:${text}${mermaidBorder}`);
    lines.push(`  class ${[...byKind.get(kind)!, legendId(kind)].join(',')} ${className(kind)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function dotGraph(graph: TaskGraph): string {
  const lines = ['digraph guild {', '  rankdir=TB;', '  node [fontname="Helvetica"];'];
  const shown = new Set<Kind>();
  for (const node of graph.nodes) {
    shown.add(node.status);
    lines.push(`  ${dotString(dotId(node.id, node.status === 'unknown'))} [label=${dotString(label(node))}, ${dotLook(node.status)}];`);
  }
  for (const edge of graph.edges) lines.push(`  ${dotString(dotId(edge.from, edge.unknown === true))} -> ${dotString(edge.to)}${edge.unknown ? ' [style=dashed]' : ''};`);
  for (const cycle of graph.cycles) lines.push(`  // cycle: ${cycle.join(' needs ')}`);
  // The legend: a cluster (drawn boxed, with its label) of one node per status drawn. Its IDs
  // hold a colon after `legend`, which no task ID has and an unknown need's (`unknown:`) cannot.
  const kinds = KINDS.filter((kind) => shown.has(kind));
  if (kinds.length > 0) {
    lines.push('  subgraph cluster_legend {', '    label="Legend";');
    for (const kind of kinds) lines.push(`    ${dotString(`legend:${kind}`)} [label=${dotString(LOOKS[kind].word)}, ${dotLook(kind)}];`);
    lines.push('  }');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function dotLook(kind: Kind): string {
  const { fill, stroke, text, dot } = LOOKS[kind];
  return `${dot}, fillcolor="${fill}", color="${stroke}", fontcolor="${text}"`;
}

/** `GLD-4 · Blocked: the title`: the status in words too; a need on no task says so in its title. */
function label(node: GraphNode): string {
  return node.status === 'unknown' ? `${node.id}: ${node.title}` : `${node.id} · ${LOOKS[node.status].word}: ${node.title}`;
}

function legendId(kind: Kind): string {
  return `Legend_${className(kind)}`;
}
/**
 * Task IDs are `PREFIX-n` or `PREFIX-HASH` (identifiers.ts): capitals, digits and one dash. With
 * the dash as `_` they are Mermaid identifiers, still distinct from each other, and never read as
 * a keyword: the flowchart lexer's keywords (`end`, `style`, `class`, `v`...) are lower case and
 * matched case-sensitively, and a task ID starts with a capital. A need that names no task gets
 * the prefix `unknown_` (no keyword starts with `u`), so it is a node apart from the tasks.
 */
function taskId(id: string): string {
  return id.replace(/[^A-Za-z0-9]/g, '_');
}

function unknownId(id: string): string {
  return `unknown_${taskId(id)}`;
}

function mermaidId(node: GraphNode): string {
  return node.status === 'unknown' ? unknownId(node.id) : taskId(node.id);
}

function className(kind: Kind): string {
  return kind === 'in-progress' ? 'in_progress' : kind;
}

/**
 * Mermaid's entity codes (`#quot;`, `#35;`) for everything that means something in its syntax or
 * in HTML. `:` too: before parsing, Mermaid drops the last `;` of any line matching
 * `style.*:\S*#.*;` or `classDef.*:\S*#.*;` (its hack for colours written `#f00;`), which ate the
 * `;` of an entity code in a title such as `style X fill:#f00`. With no `:` left in the escaped
 * title, no line of ours matches from a title on.
 */
const MERMAID_ENTITIES: Record<string, string> = {
  '"': '#quot;',
  '#': '#35;',
  '&': '#amp;',
  '<': '#lt;',
  '>': '#gt;',
  '[': '#91;',
  ']': '#93;',
  '{': '#123;',
  '}': '#125;',
  '`': '#96;',
  '%': '#37;',
  '|': '#124;',
  '\\': '#92;',
  ':': '#58;',
};

const MERMAID_SPECIAL = /["#&<>[\]{}`%|\\:]/g;

export function mermaidLabel(text: string): string {
  const clean = printable(text);
  // Most titles hold nothing to escape: no new string for them.
  MERMAID_SPECIAL.lastIndex = 0;
  const escaped = MERMAID_SPECIAL.test(clean) ? clean.replace(MERMAID_SPECIAL, (char) => MERMAID_ENTITIES[char]!) : clean;
  // Mermaid hides entity codes from its parser as `ﬂ°°35¶ß` and turns every `ﬂ°` and `¶ß` back
  // into `&` and `;` more than once while drawing (after its sanitizer has decoded any entity we
  // could write for them), so no escape survives: a word joiner (U+2060, invisible) between the
  // two characters is the only way such a title stays its text, give or take that joiner.
  return escaped.includes('\ufb02\u00b0') || escaped.includes('\u00b6\u00df') ? escaped.replace(/\ufb02(?=\u00b0)|\u00b6(?=\u00df)/g, '$&\u2060') : escaped;
}

function dotId(id: string, unknown: boolean): string {
  return unknown ? `unknown:${id}` : id;
}

/**
 * A DOT quoted string: `"` and `\` mean something inside one, and Graphviz decodes HTML entities
 * (`&amp;`, `&#38;`) in every label, so `&` is written `&amp;` to stay itself.
 */
export function dotString(text: string): string {
  return `"${printable(text).replace(/[\\"&]/g, (char) => (char === '&' ? '&amp;' : `\\${char}`))}"`;
}

/**
 * The text without control characters (line ends included), lone surrogates (the board's bytes
 * that are not UTF-8, see board-bytes.ts), U+2028/2029 and a BOM: none of them belongs in a label.
 */
function printable(text: string): string {
  // The u flag makes a valid surrogate pair (an emoji) one character, so only lone halves match.
  return UNPRINTABLE.test(text) ? text.replace(UNPRINTABLE_ALL, '') : text;
}
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]|\p{Surrogate}/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'gu');
