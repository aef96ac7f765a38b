// The board's `verify` and `worktree_setup` commands are text from an untrusted file. They are
// never given to a shell: this splits the text into an argv array, and that array is run as it
// is (execa, shell: false). The rules are a small, documented subset of POSIX word splitting:
//   - words are separated by spaces and tabs;
//   - '...' keeps everything inside literally;
//   - "..." keeps everything inside, except that \" and \\ stand for " and \;
//   - outside quotes, \ keeps the next character literally.
// Nothing else is special: no $variables, no `...` or $(...), no globs, no ; && | > <. Such
// characters reach the program as ordinary characters of its arguments. To use shell syntax on
// purpose, write it explicitly: `sh -c "npm ci && npm run build"`.
// A list of strings in the front matter is taken as the argv itself, unsplit.

export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) word += text[++i];
      else word += c;
      continue;
    }
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'" || c === '"') quote = c;
    else if (c === '\\' && i + 1 < text.length) word += text[++i];
    else word += c;
  }
  if (quote !== null) throw new Error(`unclosed ${quote} in ${JSON.stringify(text)}`);
  if (inWord) words.push(word);
  return words;
}
