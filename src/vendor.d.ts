declare module 'gray-matter' {
  function matter(input: string, options?: Record<string, unknown>): { data: unknown; content: string };
  export default matter;
}
