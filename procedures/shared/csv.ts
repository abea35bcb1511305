/**
 * CSV lines for the streamed exports (audit log, form submissions).
 *
 * - Every cell is quoted, with quotes doubled, so commas and line breaks stay inside their cell.
 * - A text cell starting with = + - @, a tab or a carriage return gets a leading `'`, so that a
 *   spreadsheet shows it rather than running it as a formula (CSV injection). Numbers and booleans
 *   are written as they are: they cannot hold a formula.
 * - Objects and arrays are written as JSON.
 */
export function csvCell(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return `"${String(value)}"`;
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

/** One line of cells, ending in a line feed. */
export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(',')}\n`;
}
