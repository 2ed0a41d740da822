// Shared by the server tests: plain rows of a Table, error assertions, table fingerprints.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Table } from 'apache-arrow';
import { FlightError, type FlightErrorKind } from '../../flight/index.ts';
import type { DuckDBFlightClient } from '../../client/index.ts';

/** Rows as plain objects (bigint kept as bigint, nested values as arrays and objects). */
export function rows(table: Table): Record<string, unknown>[] {
  return table.toArray().map((row: { toJSON(): Record<string, unknown> }) => plainObject(row.toJSON()));
}

function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return plain((value as { toJSON(): unknown }).toJSON());
  }
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && !ArrayBuffer.isView(value)) return plainObject(value as Record<string, unknown>);
  return value;
}

function plainObject(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

/** Asserts that `promise` rejects with a FlightError of `kind` whose message matches. */
export async function rejectsWith(promise: Promise<unknown>, kind: FlightErrorKind, message: RegExp): Promise<FlightError> {
  let caught: FlightError | undefined;
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FlightError, `expected a FlightError, got ${String(error)}`);
    assert.equal(error.kind, kind, `expected ${kind}, got ${error.kind}: ${error.message}`);
    assert.match(error.message, message);
    caught = error;
    return true;
  });
  return caught!;
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** One row of a query run as DoGet, as a plain object. */
export async function one(client: DuckDBFlightClient, sql: string): Promise<Record<string, unknown>> {
  const result = rows(await client.executeQuery(sql));
  assert.equal(result.length, 1, `${sql}: expected one row, got ${result.length}`);
  return result[0]!;
}

/**
 * A table's row count and an order-independent checksum of its rows (the sum of each row's
 * hash, so a duplicated or lost row changes it), read on the server.
 */
export async function fingerprint(client: DuckDBFlightClient, table: string): Promise<{ rows: bigint; checksum: string }> {
  const row = await one(client, `SELECT count(*) AS n, coalesce(sum(hash(t)), 0)::VARCHAR AS h FROM "${table}" t`);
  return { rows: row['n'] as bigint, checksum: row['h'] as string };
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted from after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory of a process in bytes, from /proc. */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Resolves once `predicate(stderr())` holds; rejects naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
