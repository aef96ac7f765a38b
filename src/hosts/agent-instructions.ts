// `guild-fs prime`: the instructions an agent needs to work on this repository with guild-fs,
// written between markers into the files agent hosts read at start. AGENTS.md is the shared
// convention (Codex, Cursor, Gemini CLI...), so it is made when missing; CLAUDE.md is Claude
// Code's own and is only updated when the repository already has one: prime does not decide
// which hosts a team uses.
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { markedSection, planMarkedSection, writePlannedSection, type SectionWrite } from './marked-section.js';

export const PRIME_SECTION = 'agent-instructions';

export interface PrimeResult {
  files: SectionWrite[];
  /** CLAUDE.md when the repository has none: nothing was written there. */
  skipped: string[];
}

/** The instructions, from templates/agent-instructions.md (which the package ships). */
export function agentInstructions(templatesDir = join(packageRoot(), 'templates')): string {
  return readFileSync(join(templatesDir, 'agent-instructions.md'), 'utf8');
}

/** What `prime --print` shows: the section with its markers, as prime writes it. */
export function printedInstructions(templatesDir?: string): string {
  return `${markedSection(PRIME_SECTION, agentInstructions(templatesDir))}\n`;
}

/** Writes the instructions into AGENTS.md (made when missing) and CLAUDE.md (only when present) at `root`. */
export async function primeRepository(root: string, options: { templatesDir?: string } = {}): Promise<PrimeResult> {
  const body = agentInstructions(options.templatesDir);
  const plans = [planMarkedSection(join(root, 'AGENTS.md'), PRIME_SECTION, body, { root, create: true })];
  const skipped: string[] = [];
  // A dangling CLAUDE.md symlink is there (lstat), and is refused by the writer rather than skipped.
  if (lstatSync(join(root, 'CLAUDE.md'), { throwIfNoEntry: false })) plans.push(planMarkedSection(join(root, 'CLAUDE.md'), PRIME_SECTION, body, { root, create: false }));
  else skipped.push('CLAUDE.md');
  // Both checked before either is written: a refused CLAUDE.md leaves AGENTS.md as it was too.
  // CLAUDE.md is often a link to AGENTS.md: one file, written once.
  const files: SectionWrite[] = [];
  const written = new Set<string>();
  for (const plan of plans) {
    if (written.has(plan.target)) files.push({ ...plan.result, state: 'unchanged' });
    else files.push(await writePlannedSection(plan));
    written.add(plan.target);
  }
  return { files, skipped };
}
