declare module 'gray-matter' {
  function matter(input: string, options?: Record<string, unknown>): { data: unknown; content: string };
  export default matter;
}

declare module 'ndjson' {
  import type { Transform } from 'node:stream';
  export function stringify(options?: Record<string, unknown>): Transform;
  export function parse(options?: Record<string, unknown>): Transform;
}
