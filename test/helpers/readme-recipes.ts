// The README's agent recipes, read from the README itself, so the lines the recipe tests run and
// the lines a person copies are one source: change one and the tests run the new one.
//   - `### Recipes for agent CLIs`: the first ```sh block, one `guild-fs run ...` line per CLI;
//   - `### Agent hosts (MCP)`: the first ```sh block, one `<cli> mcp add ...` line per host;
//   - the `agents:` example: the ```yaml block that starts with `agents:`.
// Lines are split into words as a POSIX shell would for what they use (single and double
// quotes, backslash escapes, a trailing `# comment`), never run through a shell.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const README = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md');

/** One command line of the README: its text as written and its words. */
export interface ReadmeLine {
  /** The line as the README has it, comment included. */
  text: string;
  /** Its words, comment dropped. */
  words: string[];
}

/** A recipe line: `guild-fs run ... -- <cli> ...`. */
export interface Recipe extends ReadmeLine {
  /** The agent CLI, the first word after `--`. */
  cli: string;
  /** The arguments after `guild-fs`. */
  runArgs: string[];
}

function readme(): string {
  return readFileSync(README, 'utf8');
}

/** The first fenced block of `lang` after the heading `heading`, as its lines. */
function blockAfter(text: string, heading: string, lang: string): string[] {
  const at = text.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md has no heading "${heading}"`);
  const open = text.indexOf(`\n\`\`\`${lang}\n`, at);
  if (open < 0) throw new Error(`README.md has no \`\`\`${lang} block after "${heading}"`);
  const start = open + lang.length + 5;
  const end = text.indexOf('\n```', start);
  return text.slice(start, end).split('\n');
}

/** Shell words of `line`: quotes and backslashes as sh reads them, `#` at a word's start ends it. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unclosed ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let text = '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && '"\\$`'.includes(line[i + 1] ?? '')) i++;
        text += line[i];
      }
      if (i >= line.length) throw new Error(`unclosed " in: ${line}`);
      word = (word ?? '') + text;
    } else if (c === '\\') {
      word = (word ?? '') + (line[++i] ?? '');
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function lines(block: string[]): ReadmeLine[] {
  return block.filter((text) => text.trim() !== '' && !text.trim().startsWith('#')).map((text) => ({ text, words: shellWords(text) }));
}

/** The README's recipe lines, in order. */
export function readmeRecipes(): Recipe[] {
  return lines(blockAfter(readme(), '### Recipes for agent CLIs', 'sh')).map((line) => {
    if (line.words[0] !== 'guild-fs') throw new Error(`a recipe line that is not a guild-fs command: ${line.text}`);
    const dashes = line.words.indexOf('--');
    if (dashes < 0) throw new Error(`a recipe line without "--": ${line.text}`);
    return { ...line, cli: line.words[dashes + 1] ?? '', runArgs: line.words.slice(1) };
  });
}

/** The recipe line for `cli`; throws when the README has none or more than one. */
export function readmeRecipe(cli: string): Recipe {
  const found = readmeRecipes().filter((recipe) => recipe.cli === cli);
  if (found.length !== 1) throw new Error(`README.md has ${found.length} recipe lines for ${cli}`);
  return found[0]!;
}

/** The README's MCP host lines (`claude mcp add ...`), in order. */
export function readmeMcpLines(): ReadmeLine[] {
  return lines(blockAfter(readme(), '### Agent hosts (MCP)', 'sh'));
}

/** The README's `agents:` example, as YAML text (to put in a board's front matter). */
export function readmeAgentsExample(): string {
  const text = readme();
  const match = /\n( *)```yaml\n((?:\1 *agents:\n)(?:[\s\S]*?))\n\1```/.exec(text);
  if (!match) throw new Error('README.md has no ```yaml block that starts with agents:');
  const indent = match[1]!.length;
  return match[2]!.split('\n').map((line) => line.slice(indent)).join('\n') + '\n';
}
