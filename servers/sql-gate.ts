// The one gate every route that runs a client's SQL goes through: DoGet tickets, GetFlightInfo
// and GetSchema, the query action, registered exchangers, and Flight SQL's statements,
// prepared statements, updates and tickets. On a server without --read-only or
// --no-external-access it lets everything through at no cost: SQL over Flight is full database
// access then (README, threat model).
//
// DuckDB's own modes do not suffice. access_mode=READ_ONLY refuses writes to the database but
// not to files (COPY ... TO the database file itself made it ten bytes of text), and
// enable_external_access=false still allows the database file, its WAL, the .wal.recovery and
// .wal.checkpoint files and the temp folder. So statements are classified by DuckDB's parser
// and refused by type, from an allow-list per mode, before they run.

import { StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { FlightError } from '../flight/index.ts';

export interface GateSettings {
  readOnly: boolean;
  externalAccess: boolean;
}

const T = StatementType;

/** What a read-only server runs: statements that read, or change only the caller's session. */
const READ_ONLY_TYPES = new Set<StatementType>([T.SELECT, T.EXPLAIN, T.PRAGMA, T.CALL, T.RELATION, T.TRANSACTION, T.SET, T.VARIABLE_SET]);

/**
 * What a server without external access runs: the above, and writes to its own database. Refused:
 * COPY (to or from a file), EXPORT and IMPORT DATABASE, ATTACH, COPY FROM DATABASE, INSTALL, LOAD
 * and UPDATE EXTENSIONS, and PREPARE / EXECUTE, whose statement the gate cannot see.
 */
const NO_FILES_TYPES = new Set<StatementType>([
  ...READ_ONLY_TYPES,
  T.INSERT,
  T.UPDATE,
  T.DELETE,
  T.MERGE_INTO,
  T.CREATE,
  T.CREATE_FUNC,
  T.ALTER,
  T.DROP,
  T.DETACH,
  T.ANALYZE,
  T.VACUUM,
]);

/**
 * Functions refused with either option whatever their arguments: enable_logging writes log
 * files, and with external access off a call to it made every later statement fail and DuckDB
 * abort the process at exit.
 */
const SERVER_STATE_FUNCTIONS = ['enable_logging'];

/**
 * Functions that run SQL text built at run time, which the gate never sees (query('SELECT * FROM
 * read_blob(...)') read the WAL without external access): refused with either option.
 */
const DYNAMIC_SQL_FUNCTIONS = ['query', 'query_table', 'json_execute_serialized_sql'];

/** Functions that read files, refused without external access (DuckDB lets them read its own). */
const FILE_FUNCTIONS = [
  'read_csv',
  'read_csv_auto',
  'sniff_csv',
  'read_parquet',
  'parquet_scan',
  'parquet_metadata',
  'parquet_file_metadata',
  'parquet_kv_metadata',
  'parquet_schema',
  'parquet_bloom_probe',
  'read_json',
  'read_json_auto',
  'read_json_objects',
  'read_json_objects_auto',
  'read_ndjson',
  'read_ndjson_auto',
  'read_ndjson_objects',
  'read_text',
  'read_blob',
  'glob',
  'read_xlsx',
  'read_duckdb',
  'import_database',
];

export function restricted(settings: GateSettings): boolean {
  return settings.readOnly || !settings.externalAccess;
}

function typeName(type: StatementType): string {
  return StatementType[type] ?? `statement type ${type}`;
}

function refusedReadOnly(what: string): FlightError {
  return FlightError.permissionDenied(`the server is read-only: ${what} refused (--read-only)`);
}

function refusedNoFiles(what: string): FlightError {
  return FlightError.permissionDenied(`the server runs with --no-external-access: ${what} refused`);
}

/** EXPLAIN ANALYZE runs the statement it explains, which the prepared EXPLAIN does not name. */
const EXPLAIN_ANALYZE = /\bEXPLAIN\s*(\([^)]*\bANALY[SZ]E\b|ANALY[SZ]E\b)/i;

/**
 * Refuses a statement of `type` (a prepared statement's statementType) that the server's options
 * forbid; call it before the statement runs. `sql` is the text it came from.
 */
export function admit(settings: GateSettings, type: StatementType, sql: string): void {
  if (!restricted(settings)) return;
  if (type === T.EXPLAIN && EXPLAIN_ANALYZE.test(sql)) {
    if (settings.readOnly) throw refusedReadOnly('EXPLAIN ANALYZE statements (which run what they explain) are');
    throw refusedNoFiles('EXPLAIN ANALYZE statements (which run what they explain) are');
  }
  if (settings.readOnly && !READ_ONLY_TYPES.has(type)) throw refusedReadOnly(`${typeName(type)} statements are`);
  if (!settings.externalAccess && !NO_FILES_TYPES.has(type)) throw refusedNoFiles(`${typeName(type)} statements are`);
}

const wordsOf = (names: string[]) => new RegExp(`\\b(${names.join('|')})\\b`, 'i');
const SERVER_STATE_WORDS = wordsOf(SERVER_STATE_FUNCTIONS);
const FILE_WORDS = wordsOf(FILE_FUNCTIONS);
/** A call of one of them: common words, so only before `(` (or a comment, or a quote, then `(`). */
const DYNAMIC_SQL_CALLS = new RegExp(`\\b(${DYNAMIC_SQL_FUNCTIONS.join('|')})"?\\s*(?:(?:/\\*[\\s\\S]*?\\*/|--[^\\n]*\\n)\\s*)*\\(`, 'i');
/**
 * Statements DuckDB acts on before the gate can see their type: preparing COPY FROM reads the
 * file to sniff it (and quotes it in its error), EXPORT DATABASE creates its folder, IMPORT
 * DATABASE reads its files while the text is split into statements, PREPARE binds what it
 * prepares. Found at the start of a statement (after comments, or EXPLAIN), they are refused
 * before DuckDB sees the text; the modes refuse each of them by type anyway.
 */
const BOUND_WITH_EFFECTS =
  /(?:^|;)\s*(?:(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)\s*)*(?:EXPLAIN\b\s*(?:\([^)]*\)\s*)?(?:ANALY[SZ]E\b\s*)?)?(COPY|EXPORT|IMPORT|PREPARE)\b/i;
/** A string where a table goes (`FROM 'file.csv'`): DuckDB reads the file it names. */
const FILE_AS_TABLE = /\b(FROM|JOIN)\s+'/i;
/** A table name DuckDB would read as a file (replacement scan): a path or a name with an extension. */
const FILE_LIKE_TABLE = /[./\\]/;

interface SerializedSql {
  error?: boolean;
  error_message?: string;
  statements?: unknown[];
}

/**
 * Checks a whole SQL text before anything of it is bound or run (binding has effects of its own:
 * EXPORT DATABASE creates its folder). DuckDB's parser serializes a text of SELECT statements
 * to its syntax tree, whose function and table names are checked; a text holding anything else
 * is checked by words.
 */
export async function checkText(connection: DuckDBConnection, settings: GateSettings, sql: string): Promise<void> {
  if (!restricted(settings)) return;
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const parsed = JSON.parse(String(reader.getRows()[0]![0])) as SerializedSql;
  if (!parsed.error) {
    const functions: string[] = [];
    const tables: string[] = [];
    collectNames(parsed.statements, functions, tables);
    for (const name of functions) refuseFunction(settings, name.toLowerCase());
    if (!settings.externalAccess) {
      const file = tables.find((t) => FILE_LIKE_TABLE.test(t));
      if (file !== undefined) throw refusedNoFiles(`reading the file ${JSON.stringify(file)} as a table: queries of files are`);
    }
    return;
  }
  // A text DuckDB cannot parse fails on its own when it is prepared, with DuckDB's message.
  if (!/Only SELECT statements/i.test(parsed.error_message ?? '')) return;
  const early = BOUND_WITH_EFFECTS.exec(sql);
  if (early) {
    const what = `${early[1]!.toUpperCase()} statements are`;
    throw settings.readOnly ? refusedReadOnly(what) : refusedNoFiles(what);
  }
  const state = SERVER_STATE_WORDS.exec(sql) ?? DYNAMIC_SQL_CALLS.exec(sql);
  if (state) refuseFunction(settings, state[1]!.toLowerCase());
  if (!settings.externalAccess) {
    const file = FILE_WORDS.exec(sql);
    if (file) refuseFunction(settings, file[1]!.toLowerCase());
    if (FILE_AS_TABLE.test(sql)) throw refusedNoFiles('a string in place of a table (a file DuckDB would read): queries of files are');
  }
}

function refuseFunction(settings: GateSettings, name: string): void {
  if (DYNAMIC_SQL_FUNCTIONS.includes(name)) {
    const what = `${name} (it runs SQL built at run time, which cannot be checked before) is`;
    throw settings.readOnly ? refusedReadOnly(what) : refusedNoFiles(what);
  }
  if (SERVER_STATE_FUNCTIONS.includes(name)) {
    if (settings.readOnly) throw refusedReadOnly(`${name} (it changes the server's logging and writes files) is`);
    throw refusedNoFiles(`${name} (it changes the server's logging and writes files) is`);
  }
  if (!settings.externalAccess && FILE_FUNCTIONS.includes(name)) throw refusedNoFiles(`${name} (it reads files) is`);
}

/** The function names and base-table names anywhere in a serialized syntax tree. */
function collectNames(node: unknown, functions: string[], tables: string[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectNames(item, functions, tables);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (typeof record['function_name'] === 'string') functions.push(record['function_name']);
  if (record['type'] === 'BASE_TABLE' && typeof record['table_name'] === 'string') tables.push(record['table_name']);
  for (const value of Object.values(record)) collectNames(value, functions, tables);
}

/**
 * With either option DuckDB's configuration is locked once the server has set it: SQL cannot
 * SET profiling_output or log_query_path to a file, nor turn a setting back. SET search_path,
 * SET VARIABLE and transactions still work.
 */
export async function lockConfiguration(connection: DuckDBConnection, settings: GateSettings): Promise<void> {
  if (restricted(settings)) await connection.run('SET lock_configuration = true');
}
