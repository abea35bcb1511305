/** `?q=` search: a case-insensitive substring match where %, _ and \ match themselves. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
