// The dependency graph as text: Mermaid (renders on GitHub as it is, in a ```mermaid fence) and
// Graphviz DOT. Titles are the board's, that is anyone's input: every label is escaped so that
// no title can end a label, start a statement or a comment, or inject HTML into the page.
import type { GraphNode, TaskGraph } from './task-graph.js';

type Kind = GraphNode['status'];

/** Per status: fill, border, text colour (dark text: readable on GitHub's light and dark themes). */
const COLOURS: Record<Kind, { fill: string; stroke: string }> = {
  backlog: { fill: '#eeeeee', stroke: '#999999' },
  blocked: { fill: '#ffe8cc', stroke: '#e8590c' },
  ready: { fill: '#d3f9d8', stroke: '#2f9e44' },
  'in-progress': { fill: '#d0ebff', stroke: '#1c7ed6' },
  review: { fill: '#fff3bf', stroke: '#f08c00' },
  done: { fill: '#e9ecef', stroke: '#495057' },
  failed: { fill: '#ffc9c9', stroke: '#c92a2a' },
  unknown: { fill: '#ffffff', stroke: '#868e96' },
};
const KINDS = Object.keys(COLOURS) as Kind[];

export function mermaidGraph(graph: TaskGraph): string {
  const lines = ['flowchart TD'];
  const byKind = new Map<Kind, string[]>();
  for (const node of graph.nodes) {
    const id = mermaidId(node);
    lines.push(`  ${id}["${mermaidLabel(label(node))}"]`);
    const ids = byKind.get(node.status);
    if (ids) ids.push(id);
    else byKind.set(node.status, [id]);
  }
  for (const edge of graph.edges) lines.push(edge.unknown ? `  ${unknownId(edge.from)} -.-> ${taskId(edge.to)}` : `  ${taskId(edge.from)} --> ${taskId(edge.to)}`);
  // A cycle is drawn as its edges, like any other; the comment says it for whoever reads the source.
  for (const cycle of graph.cycles) lines.push(`  %% cycle: ${cycle.join(' needs ')}`);
  for (const kind of KINDS) {
    const ids = byKind.get(kind);
    if (!ids) continue;
    const { fill, stroke } = COLOURS[kind];
    lines.push(`  classDef ${className(kind)} fill:${fill},stroke:${stroke},color:#212529${kind === 'unknown' ? ',stroke-dasharray:5 5' : ''}`);
    lines.push(`  class ${ids.join(',')} ${className(kind)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function dotGraph(graph: TaskGraph): string {
  const lines = ['digraph guild {', '  rankdir=TB;', '  node [shape=box, style="rounded,filled", fontname="Helvetica"];'];
  for (const node of graph.nodes) {
    const { fill, stroke } = COLOURS[node.status];
    const style = node.status === 'unknown' ? ', style="rounded,dashed,filled"' : '';
    lines.push(`  ${dotString(dotId(node.id, node.status === 'unknown'))} [label=${dotString(label(node))}, fillcolor="${fill}", color="${stroke}"${style}];`);
  }
  for (const edge of graph.edges) lines.push(`  ${dotString(dotId(edge.from, edge.unknown === true))} -> ${dotString(edge.to)}${edge.unknown ? ' [style=dashed]' : ''};`);
  for (const cycle of graph.cycles) lines.push(`  // cycle: ${cycle.join(' needs ')}`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function label(node: GraphNode): string {
  return `${node.id}: ${node.title}`;
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

/** Mermaid's entity codes (`#quot;`, `#35;`) for everything that means something in its syntax or in HTML. */
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
};

const MERMAID_SPECIAL = /["#&<>[\]{}`%|\\]/g;

export function mermaidLabel(text: string): string {
  const clean = printable(text);
  // Most titles hold nothing to escape: no new string for them.
  MERMAID_SPECIAL.lastIndex = 0;
  return MERMAID_SPECIAL.test(clean) ? clean.replace(MERMAID_SPECIAL, (char) => MERMAID_ENTITIES[char]!) : clean;
}

function dotId(id: string, unknown: boolean): string {
  return unknown ? `unknown:${id}` : id;
}

/** A DOT quoted string: only `"` and `\` mean something inside one. */
export function dotString(text: string): string {
  return `"${printable(text).replace(/[\\"]/g, (char) => `\\${char}`)}"`;
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
