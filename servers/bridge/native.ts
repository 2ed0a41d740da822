// The native addon (native/, built by `npm ci`): DuckDB's own Arrow conversion, run off the
// JavaScript thread. Loaded once; when it cannot load (not built, no compiler at install time,
// another platform), the JavaScript bridge serves and the reason is kept for the log line.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type duckdb from '@duckdb/node-bindings';

/** Arrow C schema, described for JavaScript (see native/src/export_stream.cc). */
export interface NativeField {
  name: string;
  /** The Arrow C data interface format string (`i`, `u`, `+s`, `tsu:UTC`, ...). */
  format: string;
  nullable: boolean;
  /** Key-value metadata (extension types: ARROW:extension:name ...). */
  metadata: Record<string, string>;
  children: NativeField[];
  /** The value type of a dictionary-encoded field; `format` is then the index type. */
  dictionary: NativeField | null;
  dictionaryOrdered?: boolean;
}

/** An export stream inside the addon (an opaque, type-tagged external). */
export type NativeExportHandle = { readonly __nativeExport: unique symbol };

/** One Arrow IPC message built by the addon: the flatbuffer Message and its 8-byte aligned body. */
export interface NativeMessage {
  header: Buffer;
  /** A Buffer of its own, or (slab >= 0) a view of a slab the stream writes again once released. */
  body: Uint8Array;
  rows: number;
  /** The body's slab (openExport's reuseBodies), to hand back with releaseExportBody; -1: none. */
  slab: number;
}

/** What the addon exports (native/src/addon.cc). */
export interface NativeAddon {
  /** DuckDB's version as the linked libduckdb reports it (`v1.5.5`). */
  libraryVersion(): string;
  /** True when `connection` (from @duckdb/node-bindings' connect()) is usable; throws otherwise. */
  checkConnection(connection: duckdb.Connection): boolean;
  /**
   * Prepares the last statement of `sql` on `connection` (the statements before it must have
   * run) and starts streaming its result on a thread of the addon's. Rejects with DuckDB's
   * message when the statement cannot be prepared.
   */
  openExport(
    connection: duckdb.Connection,
    sql: string,
    options: { batchRows: number; maxBatchBytes: number; readAhead: number; reuseBodies?: boolean; duckdbConverter?: boolean },
  ): Promise<{ stream: NativeExportHandle; fields: NativeField[]; converter: 'direct' | 'duckdb' }>;
  /**
   * The messages of the next batch (dictionary batches before the first record batch), or null
   * at the end. Rejects with DuckDB's message when the query fails while streaming. One call at
   * a time per stream.
   */
  nextExport(stream: NativeExportHandle): Promise<NativeMessage[] | null>;
  /** The body in `slab` is no longer read: the stream may write the next one there. */
  releaseExportBody(stream: NativeExportHandle, slab: number): void;
  /** Interrupts the query if it still runs; resolves once it has stopped and the connection is free. */
  closeExport(stream: NativeExportHandle): Promise<void>;
}

export type NativeLoad = { addon: NativeAddon; reason: string } | { addon: null; reason: string };

// The package root is two folders up from the source (servers/bridge/) and three from the build
// (dist/servers/bridge/), which `duck-flight` and the package's users run: both are tried.
const ADDON_CANDIDATES = ['../../', '../../../'].map((up) =>
  fileURLToPath(new URL(`${up}native/build/Release/duck_flight_native.node`, import.meta.url)),
);
const ADDON_PATH = ADDON_CANDIDATES.find((path) => existsSync(path)) ?? ADDON_CANDIDATES[0]!;

let loaded: NativeLoad | null = null;

/** The addon, loaded on first use; `addon` is null when it cannot load, and `reason` says why. */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  if (!existsSync(ADDON_PATH)) {
    loaded = { addon: null, reason: 'the native addon is not built (npm ci builds it; or run node native/build.mjs)' };
    return loaded;
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    const version = addon.libraryVersion();
    loaded = { addon, reason: `native addon loaded (DuckDB ${version})` };
  } catch (error) {
    loaded = { addon: null, reason: `the native addon failed to load: ${error instanceof Error ? error.message : String(error)}` };
  }
  return loaded;
}

export type BridgeKind = 'native' | 'js';

/**
 * The bridge a server uses: `requested` names one, or (undefined) native when it loads and the
 * JavaScript bridge otherwise. Asking for native when it cannot load is an error.
 */
export function chooseBridge(requested: BridgeKind | undefined): { bridge: BridgeKind; reason: string } {
  if (requested === 'js') return { bridge: 'js', reason: 'requested (--bridge js)' };
  const { addon, reason } = loadNative();
  if (addon) return { bridge: 'native', reason };
  if (requested === 'native') throw new Error(`--bridge native: ${reason}`);
  return { bridge: 'js', reason };
}
