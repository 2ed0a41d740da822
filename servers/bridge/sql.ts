/** `name` as a DuckDB identifier: double quotes, inner double quotes doubled. */
export function quoteIdentifier(name: string): string {
  if (name.includes('\0')) throw new Error('bridge: identifiers cannot contain NUL characters');
  return `"${name.replaceAll('"', '""')}"`;
}

/** `text` as a DuckDB string literal: single quotes, inner single quotes doubled. */
export function quoteString(text: string): string {
  if (text.includes('\0')) throw new Error('bridge: string literals cannot contain NUL characters');
  return `'${text.replaceAll("'", "''")}'`;
}
