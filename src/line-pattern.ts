// A pattern a person writes to match a line of a program's output (a profile's `unavailable:`,
// `run --unavailable`): `/.../flags` is a regular expression, anything else a case-insensitive
// substring. One reading for every place that accepts one: the front matter checks it (with the
// file and line), the runner matches with it.

export interface LinePattern {
  source: string;
  test(line: string): boolean;
}

/** A `/.../` pattern that is no regular expression throws a SyntaxError: the caller says where it was written. */
export function compileLinePattern(source: string): LinePattern {
  const regexp = /^\/(.+)\/([a-z]*)$/s.exec(source);
  if (regexp) {
    // Flags as written must be flags (a repeated one too); then g and y are dropped, which would
    // make test() remember where it stopped and a line match once in two.
    new RegExp(regexp[1]!, regexp[2]!);
    const compiled = new RegExp(regexp[1]!, regexp[2]!.replace(/[gy]/g, ''));
    return { source, test: (line) => compiled.test(line) };
  }
  const needle = source.toLowerCase();
  return { source, test: (line) => line.toLowerCase().includes(needle) };
}
