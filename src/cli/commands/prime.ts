import { primeRepository, printedInstructions, type PrimeResult } from '../../hosts/agent-instructions.js';
import type { Context } from '../context.js';

export type PrimeOutput = PrimeResult | { printed: string };

export async function run(args: { print?: boolean }, ctx: Context): Promise<PrimeOutput> {
  if (args.print) return { printed: printedInstructions() };
  // The checkout the command runs in: a worktree's AGENTS.md is committed on its own branch.
  return primeRepository(ctx.guild().repo.worktree);
}

export function render(result: PrimeOutput): string {
  if ('printed' in result) return result.printed;
  return result.files.map(({ file, state }) => `${file}: ${state}`).join('\n');
}
