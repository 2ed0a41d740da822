// DuckDB's errors as Flight errors: the message is DuckDB's own, the kind follows its error
// class ("Catalog Error: Table with name x does not exist!" is NOT_FOUND, and so on).

import { FlightError, type FlightErrorKind } from '../flight/index.ts';

const RULES: [RegExp, FlightErrorKind][] = [
  [/\bCatalog Error:.*(does not exist|not found)/is, 'not-found'],
  [/\bCatalog Error:.*already exists/is, 'already-exists'],
  // The appender reports constraint violations without DuckDB's "Constraint Error:" prefix
  // ("Failed to append: Duplicate key ... violates primary key constraint.").
  // lock_configuration (servers/sql-gate.ts): a SET the server's options forbid.
  [/the configuration has been locked/i, 'permission-denied'],
  [/violates (primary key|unique|foreign key) constraint|NOT NULL constraint failed|CHECK constraint failed/i, 'invalid-argument'],
  [
    /\b(Parser|Binder|Conversion|Invalid Input|Constraint|Out of Range|Type|Syntax|Not implemented|Catalog|Dependency|Invalid type|Sequence|Invalid) Error:/i,
    'invalid-argument',
  ],
  [/\b(Permission|Invalid Configuration) Error:/i, 'permission-denied'],
  [/\bINTERRUPT Error:|Interrupted!/i, 'cancelled'],
  [/\bTransaction(Context)? Error:/i, 'failed-precondition'],
  [/\bOut of Memory Error:/i, 'resource-exhausted'],
];

/** Wraps any error from DuckDB (or the bridge) as a FlightError with the right kind. */
export function fromDuckDBError(error: unknown, context?: string): FlightError {
  if (error instanceof FlightError) return error;
  const message = error instanceof Error ? error.message : String(error);
  let kind: FlightErrorKind = 'internal';
  for (const [pattern, k] of RULES) {
    if (pattern.test(message)) {
      kind = k;
      break;
    }
  }
  if (kind === 'internal' && /^bridge: /.test(message)) kind = 'invalid-argument';
  const read = message.includes('read-only') || message.includes('read only');
  if (read && /Cannot execute statement|attached in read-only mode/i.test(message)) kind = 'permission-denied';
  return new FlightError(kind, context ? `${context}: ${message}` : message, { cause: error });
}
