// The one place that prints results and maps errors to exit codes. Commands return data; this
// decides between human text on stdout and the --json envelope, and sends notes to stderr.
import { ExitCode, GuildError } from '../errors.js';

export interface Printer {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const processPrinter: Printer = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

export function printResult(result: unknown, human: string, options: { json: boolean; notes: string[] }, printer: Printer = processPrinter): void {
  for (const note of options.notes) printer.stderr(`${note}\n`);
  if (options.json) printer.stdout(`${JSON.stringify({ ok: true, result })}\n`);
  else if (human !== '') printer.stdout(human.endsWith('\n') ? human : `${human}\n`);
}

/** Prints the error and returns the exit code for it. */
export function printError(error: unknown, options: { json: boolean }, printer: Printer = processPrinter): ExitCode {
  const known = error instanceof GuildError;
  const code = known ? error.exitCode : ExitCode.unexpected;
  const body = known ? error.toJSON() : { code: 'EUNEXPECTED', message: (error as Error)?.message ?? String(error) };
  if (options.json) printer.stdout(`${JSON.stringify({ ok: false, error: body })}\n`);
  printer.stderr(`guild-fs: ${body.message}\n`);
  if (!known && process.env.GUILD_DEBUG) printer.stderr(`${(error as Error)?.stack ?? ''}\n`);
  return code;
}

/** Column-aligned rows for human output. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
