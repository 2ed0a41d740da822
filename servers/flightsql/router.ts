// Puts the Flight SQL face in front of the plain handlers: a descriptor command, ticket or
// action body that is a google.protobuf.Any with a Flight SQL type URL goes to Flight SQL;
// everything else (the plain face's SQL tickets, table names, JSON actions) goes where it went.

import { FlightError, type FlightHandlers } from '../../flight/index.ts';
import type { ServiceContext } from '../context.ts';
import { FlightSqlServer, isFlightSqlAction, type FlightSqlOptions } from './flight-sql-server.ts';
import { unpackFlightSql } from './messages.ts';

function missing(method: string): never {
  throw FlightError.unimplemented(`${method} is not implemented by this server`);
}

/**
 * The plain handlers with Flight SQL routed off in front of them.
 *
 * ```ts
 * const { handlers } = withFlightSql(service, createPlainHandlers(service));
 * const server = new FlightServer(handlers);
 * ```
 */
export function withFlightSql(
  service: ServiceContext,
  plain: FlightHandlers,
  options: FlightSqlOptions = {},
): { handlers: FlightHandlers; flightSql: FlightSqlServer } {
  const sql = new FlightSqlServer(service, options);
  const handlers: FlightHandlers = {
    ...plain,
    getFlightInfo(descriptor, context) {
      const command = descriptor.type === 'cmd' ? unpackFlightSql(descriptor.cmd) : null;
      if (command) return sql.getFlightInfo(command, descriptor, context);
      return (plain.getFlightInfo ?? (() => missing('GetFlightInfo')))(descriptor, context);
    },
    async pollFlightInfo(descriptor, context) {
      const command = descriptor.type === 'cmd' ? unpackFlightSql(descriptor.cmd) : null;
      // Flight SQL statements are planned (or run) before GetFlightInfo answers: the first poll is final.
      if (command) return { info: await sql.getFlightInfo(command, descriptor, context), progress: 1 };
      return (plain.pollFlightInfo ?? (() => missing('PollFlightInfo')))(descriptor, context);
    },
    getSchema(descriptor, context) {
      const command = descriptor.type === 'cmd' ? unpackFlightSql(descriptor.cmd) : null;
      if (command) return sql.getSchema(command, context);
      return (plain.getSchema ?? (() => missing('GetSchema')))(descriptor, context);
    },
    doGet(ticket, context) {
      const message = unpackFlightSql(ticket);
      if (message) return sql.doGet(message, context);
      return (plain.doGet ?? (() => missing('DoGet')))(ticket, context);
    },
    doPut(reader, context) {
      const descriptor = reader.descriptor;
      const command = descriptor?.type === 'cmd' ? unpackFlightSql(descriptor.cmd) : null;
      if (command) return sql.doPut(command, reader, context);
      return (plain.doPut ?? (() => missing('DoPut')))(reader, context);
    },
    doAction(action, context) {
      if (isFlightSqlAction(action.type)) return sql.doAction(action, context);
      return (plain.doAction ?? (() => missing('DoAction')))(action, context);
    },
    async listActions(context) {
      const theirs = plain.listActions ? [...(await collect(await plain.listActions(context)))] : [];
      return [...theirs, ...sql.listActions()];
    },
  };
  return { handlers, flightSql: sql };
}

async function collect<T>(items: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
