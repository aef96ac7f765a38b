// The README's recipe and MCP lines and the tests that run them are one source: each
// test/recipe-<cli>.test.ts reads its line from the README (test/helpers/readme-recipes.ts), and
// this file fails when the README gains a line no test runs, or loses one a test expects. Aider
// cannot be installed here (it is on neither npm nor Debian): its line stays, marked untested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeAgentsExample, readmeMcpLines, readmeRecipes, shellWords } from './helpers/readme-recipes.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const UNTESTABLE = new Set(['aider']);

function recipeTest(cli: string): string | null {
  const path = join(HERE, `recipe-${cli}.test.ts`);
  return existsSync(path) ? readFileSync(path, 'utf8') : null;
}

test('every recipe line of the README is run by a recipe test, or says it is untested', () => {
  const recipes = readmeRecipes();
  assert.ok(recipes.length >= 4, 'the README has its recipe lines');
  for (const recipe of recipes) {
    if (UNTESTABLE.has(recipe.cli)) {
      assert.match(recipe.text, /untested/i, `the ${recipe.cli} line says it is untested: ${recipe.text}`);
      continue;
    }
    const source = recipeTest(recipe.cli);
    assert.ok(source, `test/recipe-${recipe.cli}.test.ts runs the README's line: ${recipe.text}`);
    assert.ok(source.includes(`readmeRecipe('${recipe.cli}')`), `test/recipe-${recipe.cli}.test.ts reads its line from the README`);
  }
});

test('every MCP line of the README is run by its host\'s recipe test', () => {
  const lines = readmeMcpLines();
  assert.ok(lines.length >= 2, 'the README has its MCP lines');
  for (const line of lines) {
    const cli = line.words[0]!;
    const source = recipeTest(cli);
    assert.ok(source?.includes('readmeMcpLines()'), `test/recipe-${cli}.test.ts runs the README's line: ${line.text}`);
    assert.ok(!line.words.includes('npx'), `guild-fs is not on the registry; npx would fail: ${line.text}`);
  }
});

test('every profile of the agents: example is run by its CLI\'s recipe test', () => {
  const profiles = [...readmeAgentsExample().matchAll(/^ {2}([a-z][\w-]*):$/gm)].map((match) => match[1]!);
  assert.ok(profiles.length >= 2, readmeAgentsExample());
  for (const profile of profiles) {
    const source = recipeTest(profile);
    assert.ok(source?.includes('readmeAgentsExample()') && source.includes(`'--profile', '${profile}'`), `test/recipe-${profile}.test.ts runs the ${profile} profile`);
  }
});

test('the README\'s lines split as sh would split them', () => {
  assert.deepEqual(shellWords(`a "b c" 'd e' f\\ g "h\\"i" # comment`), ['a', 'b c', 'd e', 'f g', 'h"i']);
  assert.deepEqual(shellWords('x#y z'), ['x#y', 'z']);
});
