import type { Status } from '../../board/types.js';
import { drawGraph, type DrawnGraph } from '../../hosts/draw-graph.js';
import type { Context } from '../context.js';

export async function run(args: { mermaid?: boolean; dot?: boolean; status?: Status; all?: boolean; into?: string }, ctx: Context): Promise<DrawnGraph> {
  const result = await drawGraph(ctx.guild(), { format: args.dot ? 'dot' : 'mermaid', status: args.status, all: args.all, into: args.into, cwd: ctx.cwd });
  // stdout holds the graph alone (it is piped into files and renderers): what is wrong goes to stderr.
  for (const cycle of result.cycles) ctx.notes.push(`warning: dependency cycle: ${cycle.join(' -> ')}`);
  for (const { task, need } of result.unknownNeeds) ctx.notes.push(`warning: ${task} needs ${need}, which is not on the board`);
  // Mermaid's own defaults (GitHub keeps them): a larger diagram is an error box, not a graph.
  if (result.format === 'mermaid' && (result.text.length > MERMAID_MAX_TEXT || result.edges.length > MERMAID_MAX_EDGES)) {
    ctx.notes.push(`warning: ${result.nodes.length} nodes and ${result.edges.length} edges: Mermaid renderers (GitHub's among them) refuse more than ${MERMAID_MAX_EDGES} edges or ${MERMAID_MAX_TEXT.toLocaleString('en')} characters; narrow it with --status, or use --dot`);
  }
  return result;
}

const MERMAID_MAX_TEXT = 50_000;
const MERMAID_MAX_EDGES = 500;

export function render(result: DrawnGraph): string {
  if (!result.into) return result.text;
  const { file, state } = result.into;
  return `${file}: ${state === 'unchanged' ? 'graph unchanged' : `graph ${state}`} (${result.nodes.length} nodes, ${result.edges.length} edges)`;
}
