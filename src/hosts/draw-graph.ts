// `guild-fs graph`: the board's dependency graph, drawn, and optionally kept in a Markdown file
// between markers (a README or a plan that shows the work on GitHub). Reads the board as `ready`
// does (the parse cache, else the fast scanner): no remark, no git process.
import { extname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { loadBoard, type Guild } from '../tasks/guild.js';
import { dotGraph, mermaidGraph } from './graph-text.js';
import { writeMarkedSection, type SectionWrite } from './marked-section.js';
import { taskGraph, type GraphFilter, type TaskGraph } from './task-graph.js';

export const GRAPH_SECTION = 'graph';

export interface DrawnGraph extends TaskGraph {
  format: 'mermaid' | 'dot';
  text: string;
  /** With `into`: the file the graph was written into, and whether that changed it. */
  into?: SectionWrite;
}

export async function drawGraph(guild: Guild, options: GraphFilter & { format: 'mermaid' | 'dot'; into?: string; cwd?: string }): Promise<DrawnGraph> {
  if (options.into !== undefined && options.format !== 'mermaid') throw new UsageError('--into writes the Mermaid graph (GitHub renders it in Markdown); leave out --dot');
  // Checked before the board is read: a typo must not put a graph into package.json.
  if (options.into !== undefined && !['.md', '.markdown'].includes(extname(options.into).toLowerCase())) {
    throw new UsageError(`--into takes a Markdown file (.md or .markdown), got ${JSON.stringify(options.into)}`, { file: options.into });
  }
  const board = await loadBoard(guild);
  const graph = taskGraph(board.tasks, options, board.byId);
  const text = options.format === 'dot' ? dotGraph(graph) : mermaidGraph(graph);
  const drawn: DrawnGraph = { format: options.format, ...graph, text };
  if (options.into !== undefined) {
    const root = guild.repo.worktree;
    drawn.into = await writeMarkedSection(resolve(options.cwd ?? root, options.into), GRAPH_SECTION, `\`\`\`mermaid\n${text}\`\`\``, { root, create: true });
  }
  return drawn;
}
