// What a Flight SQL ticket carries here. GetFlightInfo answers with one endpoint whose ticket is
// an Any(TicketStatementQuery); its statement_handle is this server's own message, opaque to
// clients: everything DoGet needs (the SQL, the transaction, bound parameters), so tickets hold
// no server state and a ticket never redeemed costs nothing. A statement that returns no rows
// has already run when GetFlightInfo answers, and its ticket carries the outcome instead.

import { randomBytes } from 'node:crypto';
import { RecordBatch, RecordBatchReader, RecordBatchStreamWriter, type Schema } from 'apache-arrow';
import { FlightError } from '../../flight/index.ts';
import { StatementHandleSchema, type StatementHandle as StatementHandleMessage } from './proto/statement_handle_pb.ts';
import { decodeAs, messageCodec, packAny, TicketStatementQuery, unpackFlightSql, type Plain } from './messages.ts';
import type { ParameterSets } from './parameters.ts';

export type StatementTicket =
  | {
      readonly kind: 'query';
      /** Names this execution for CancelFlightInfo. */
      readonly queryId: Uint8Array;
      readonly sql: string;
      readonly transactionId: Uint8Array | undefined;
      /** Parameter sets to run the statement with, as an Arrow IPC stream. */
      readonly parameters: Uint8Array | undefined;
    }
  | {
      readonly kind: 'outcome';
      readonly queryId: Uint8Array;
      /** DuckDB's statement type name (INSERT, CREATE, ...). */
      readonly statement: string;
      readonly rowsChanged: number;
    };

/** This server's own message (proto/statement_handle.proto); it never leaves the ticket. */
const StatementHandle = messageCodec(StatementHandleSchema);
type HandleMessage = Plain<StatementHandleMessage>;

const KIND_QUERY = 1;
const KIND_OUTCOME = 2;

export function newQueryId(): Uint8Array {
  return randomBytes(16);
}

export function encodeTicket(ticket: StatementTicket): Buffer {
  const handle =
    ticket.kind === 'query'
      ? StatementHandle.encode({
          kind: KIND_QUERY,
          queryId: ticket.queryId,
          sql: ticket.sql,
          transactionId: ticket.transactionId,
          parameters: ticket.parameters,
        })
      : StatementHandle.encode({
          kind: KIND_OUTCOME,
          queryId: ticket.queryId,
          statement: ticket.statement,
          rowsChanged: ticket.rowsChanged,
        });
  return packAny(TicketStatementQuery, { statementHandle: handle });
}

/** The ticket inside a TicketStatementQuery's handle; INVALID_ARGUMENT if it is not one of ours. */
export function decodeTicketHandle(statementHandle: Uint8Array): StatementTicket {
  let handle: HandleMessage;
  try {
    handle = StatementHandle.decode(statementHandle);
  } catch (error) {
    throw FlightError.invalidArgument(`the statement handle was not issued by this server: ${(error as Error).message}`, error);
  }
  if (handle.kind === KIND_QUERY) {
    return { kind: 'query', queryId: handle.queryId, sql: handle.sql, transactionId: handle.transactionId, parameters: handle.parameters };
  }
  if (handle.kind === KIND_OUTCOME) {
    return { kind: 'outcome', queryId: handle.queryId, statement: handle.statement, rowsChanged: handle.rowsChanged };
  }
  throw FlightError.invalidArgument(`the statement handle was not issued by this server (kind ${handle.kind})`);
}

/** The statement ticket in a raw ticket (an Any), or null for a ticket that is not a Flight SQL statement's. */
export function statementTicketOf(ticket: Uint8Array): StatementTicket | null {
  const any = unpackFlightSql(ticket);
  if (!any || any.name !== TicketStatementQuery.name) return null;
  return decodeTicketHandle(decodeAs(any, TicketStatementQuery).statementHandle);
}

export function encodeParameters(sets: ParameterSets): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, sets.schema as Schema);
  for (const batch of sets.batches) writer.write(batch);
  writer.finish();
  return writer.toUint8Array(true);
}

export function decodeParameters(bytes: Uint8Array): ParameterSets {
  const reader = RecordBatchReader.from(bytes).open();
  const schema = reader.schema;
  const batches: RecordBatch[] = [];
  for (const batch of reader as Iterable<RecordBatch>) batches.push(batch);
  if (!schema) throw FlightError.invalidArgument("the ticket's parameter sets carry no schema");
  return { schema, batches };
}
