// The report of a run: one row per operation, with its rate and whether its check passed.

import Table from 'cli-table3';
import type { OperationResult } from './operations.ts';

/** Marks in the check column; a test or script finds them with `parseReport`. */
export const PASS = '✓';
export const FAIL = '✗';

export const REPORT_HEADINGS = ['Operation', 'Rows', 'Time (s)', 'Rows/s', 'MB/s', 'OK', 'Verification'] as const;

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** The cells of one report row, formatted. MB are decimal megabytes of Arrow buffers. */
export function reportRow(result: OperationResult): string[] {
  const rate = result.seconds > 0 ? result.rows / result.seconds : Number.NaN;
  const megabytesPerSecond = result.bytes !== undefined && result.seconds > 0 ? result.bytes / 1e6 / result.seconds : undefined;
  return [
    result.operation,
    integer.format(result.rows),
    result.seconds.toFixed(3),
    Number.isFinite(rate) ? integer.format(rate) : '-',
    megabytesPerSecond === undefined ? '-' : oneDecimal.format(megabytesPerSecond),
    result.verification.ok ? PASS : FAIL,
    result.verification.detail,
  ];
}

/**
 * The results as a text table (no colours, so it reads the same in a file or a pipe).
 *
 * @example
 *   process.stdout.write(renderReport([await runGet({ client, table: 'flights' })]) + '\n');
 */
export function renderReport(results: readonly OperationResult[]): string {
  const table = new Table({ head: [...REPORT_HEADINGS], style: { head: [], border: [] } });
  for (const result of results) table.push(reportRow(result));
  return table.toString();
}

export interface ParsedReportRow {
  operation: string;
  ok: boolean;
  detail: string;
}

/** Reads back the operation, check mark and detail of each row of a `renderReport` table. */
export function parseReport(text: string): ParsedReportRow[] {
  const rows: ParsedReportRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('│')) continue;
    const cells = line
      .split('│')
      .slice(1, -1)
      .map((c) => c.trim());
    if (cells.length !== REPORT_HEADINGS.length || cells[0] === REPORT_HEADINGS[0]) continue;
    const mark = cells[5]!;
    if (mark !== PASS && mark !== FAIL) continue;
    rows.push({ operation: cells[0]!, ok: mark === PASS, detail: cells[6]! });
  }
  return rows;
}

/** True when every operation's check passed. */
export function allVerified(results: readonly OperationResult[]): boolean {
  return results.every((r) => r.verification.ok);
}
