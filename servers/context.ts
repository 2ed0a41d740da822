// What every handler of the DuckDB Flight server shares.

import type { Engine } from './engine.ts';
import type { Logger } from './logger.ts';
import type { ExchangerRegistry } from './exchangers.ts';
import type { BridgeKind } from './bridge/native.ts';

export interface ServerSettings {
  /** Rows per Arrow batch sent by DoGet and exchanges (default 65,536). */
  batchRows: number;
  readOnly: boolean;
  /**
   * false (--no-external-access): requests cannot make the server reach files or the network,
   * neither through SQL (DuckDB's enable_external_access) nor through the transfer action.
   */
  externalAccess: boolean;
  /** Rows the `query` action returns inline before it asks for DoGet instead (default 10,000). */
  maxActionRows: number;
  /** Which DuckDB -> Arrow bridge streams results: the native addon, or the JavaScript one. */
  bridge: BridgeKind;
  /** Largest message the server sends (FlightServer's maxMessageBytes): the native export cuts its batches to fit. */
  maxMessageBytes: number;
}

export interface ServiceContext {
  engine: Engine;
  logger: Logger;
  exchangers: ExchangerRegistry;
  settings: ServerSettings;
  startedAt: number;
  version: string;
}
