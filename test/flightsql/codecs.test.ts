// The Flight SQL message codecs against byte strings worked out by hand from the protobuf
// encoding rules, and the Any detection that tells Flight SQL from plain SQL text.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { FlightError } from '../../flight/index.ts';
import {
  ActionCreatePreparedStatementResult,
  ActionEndTransactionRequest,
  CommandGetDbSchemas,
  CommandGetSqlInfo,
  CommandGetTables,
  CommandGetXdbcTypeInfo,
  CommandStatementIngest,
  CommandStatementQuery,
  DoPutPreparedStatementResult,
  DoPutUpdateResult,
  decodeAs,
  packAny,
  TYPE_URL_PREFIX,
  unpackFlightSql,
} from '../../servers/flightsql/messages.ts';
import { encodeAny, tryDecodeAny } from '../../servers/flightsql/messages.ts';
import { SQL_INFO_SCHEMA } from '../../servers/flightsql/schemas.ts';
import { SqlInfo, sqlInfoBatch, type SqlInfoValue } from '../../servers/flightsql/sql-info.ts';
import { decodeTicketHandle, encodeTicket, statementTicketOf } from '../../servers/flightsql/tickets.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replaceAll(' ', ''), 'hex'));
const ascii = (s: string) => Buffer.from(s, 'latin1').toString('hex');
/** A ten-byte varint: how protobuf writes a negative int32/int64. */
const negative = (n: bigint) => {
  let v = BigInt.asUintN(64, n);
  let out = '';
  for (let i = 0; i < 10; i++) {
    const byte = Number(v & 0x7fn) | (i < 9 ? 0x80 : 0);
    out += byte.toString(16).padStart(2, '0');
    v >>= 7n;
  }
  return out;
};

describe('Flight SQL message codecs', () => {
  test('CommandStatementQuery: query = 1 (string), transaction_id = 2 (optional bytes)', () => {
    assert.equal(hex(CommandStatementQuery.encode({ query: 'SELECT 1' })), `0a08${ascii('SELECT 1')}`);
    const withTransaction = CommandStatementQuery.encode({ query: 'SELECT 1', transactionId: Uint8Array.of(1, 2) });
    assert.equal(hex(withTransaction), `0a08${ascii('SELECT 1')}12020102`);
    assert.deepEqual(CommandStatementQuery.decode(Uint8Array.from(withTransaction)), {
      query: 'SELECT 1',
      transactionId: Uint8Array.of(1, 2),
    });
    assert.deepEqual(CommandStatementQuery.decode(new Uint8Array(0)), { query: '', transactionId: undefined });
  });

  test('an optional field set to its zero value is written and read back as present', () => {
    assert.equal(hex(CommandGetDbSchemas.encode({ catalog: '' })), '0a00');
    assert.deepEqual(CommandGetDbSchemas.decode(bytes('0a00')), { catalog: '', dbSchemaFilterPattern: undefined });
    assert.deepEqual(CommandGetDbSchemas.decode(new Uint8Array(0)), { catalog: undefined, dbSchemaFilterPattern: undefined });
    assert.equal(hex(CommandGetXdbcTypeInfo.encode({ dataType: 0 })), '0800');
    assert.equal(hex(CommandGetXdbcTypeInfo.encode({})), '');
  });

  test('negative int32 and int64 values take ten bytes, and decode back', () => {
    const xdbc = CommandGetXdbcTypeInfo.encode({ dataType: -5 });
    assert.equal(hex(xdbc), `08${negative(-5n)}`);
    assert.deepEqual(CommandGetXdbcTypeInfo.decode(xdbc), { dataType: -5 });
    const unknown = DoPutUpdateResult.encode({ recordCount: -1 });
    assert.equal(hex(unknown), `08${negative(-1n)}`);
    assert.deepEqual(DoPutUpdateResult.decode(unknown), { recordCount: -1 });
    assert.equal(hex(DoPutUpdateResult.encode({ recordCount: 300 })), '08ac02');
    assert.equal(hex(DoPutUpdateResult.encode({ recordCount: 0 })), '', 'proto3 leaves a zero out');
  });

  test('repeated uint32 is written packed and read packed or unpacked', () => {
    const packed = CommandGetSqlInfo.encode({ info: [0, 1, 500] });
    assert.equal(hex(packed), '0a040001f403');
    assert.deepEqual(CommandGetSqlInfo.decode(packed), { info: [0, 1, 500] });
    assert.deepEqual(CommandGetSqlInfo.decode(bytes('0800 0801 08f403')), { info: [0, 1, 500] });
  });

  test('repeated strings, bools and enums', () => {
    const tables = CommandGetTables.encode({ tableTypes: ['TABLE', 'VIEW'], includeSchema: true, tableNameFilterPattern: 'a%' });
    assert.equal(hex(tables), `1a02${ascii('a%')}2205${ascii('TABLE')}2204${ascii('VIEW')}2801`);
    assert.deepEqual(CommandGetTables.decode(tables), {
      catalog: undefined,
      dbSchemaFilterPattern: undefined,
      tableNameFilterPattern: 'a%',
      tableTypes: ['TABLE', 'VIEW'],
      includeSchema: true,
    });
    const end = ActionEndTransactionRequest.encode({ transactionId: Uint8Array.of(0xab), action: 2 });
    assert.equal(hex(end), '0a01ab1002');
  });

  test('CommandStatementIngest: nested options and the map<string, string> at field 1000', () => {
    const encoded = CommandStatementIngest.encode({
      tableDefinitionOptions: { ifNotExist: 1, ifExists: 3 },
      table: 't',
      catalog: '',
      temporary: true,
      options: { a: 'b' },
    });
    // 1000 << 3 | 2 = 8002 = varint c2 3e; the entry is key = 1, value = 2.
    assert.equal(hex(encoded), `0a0408011003 1201${ascii('t')} 2200 2801 c23e060a01${ascii('a')}1201${ascii('b')}`.replaceAll(' ', ''));
    assert.deepEqual(CommandStatementIngest.decode(encoded), {
      tableDefinitionOptions: { ifNotExist: 1, ifExists: 3 },
      table: 't',
      schema: undefined,
      catalog: '',
      temporary: true,
      transactionId: undefined,
      options: { a: 'b' },
    });
  });

  test('unknown fields are skipped; optional bytes presence survives', () => {
    const withExtra = bytes(`0a08${ascii('SELECT 1')} f806 2a 8207 03 616263`);
    assert.deepEqual(CommandStatementQuery.decode(withExtra), { query: 'SELECT 1', transactionId: undefined });
    assert.equal(hex(DoPutPreparedStatementResult.encode({ preparedStatementHandle: new Uint8Array(0) })), '0a00');
    assert.equal(hex(DoPutPreparedStatementResult.encode({})), '');
  });

  test('a truncated message is INVALID_ARGUMENT naming the message', () => {
    assert.throws(
      () => CommandStatementQuery.decode(bytes('0a10 4142')),
      (error: unknown) => error instanceof FlightError && error.kind === 'invalid-argument' && /CommandStatementQuery/.test(error.message),
    );
    assert.throws(() => CommandGetSqlInfo.decode(bytes('0a02 80')), FlightError);
  });

  test('the prepared statement result leaves an unknown dataset schema out', () => {
    const encoded = ActionCreatePreparedStatementResult.encode({
      preparedStatementHandle: Uint8Array.of(7),
      parameterSchema: Uint8Array.of(1, 2),
    });
    assert.equal(hex(encoded), '0a0107 1a020102'.replace(' ', ''));
  });
});

describe('google.protobuf.Any and Flight SQL detection', () => {
  test('packAny wraps a message under its Flight SQL type URL', () => {
    const any = packAny(CommandStatementQuery, { query: 'SELECT 1' });
    const url = `${TYPE_URL_PREFIX}CommandStatementQuery`;
    assert.equal(url.length, 67);
    assert.equal(hex(any), `0a43${ascii(url)}120a0a08${ascii('SELECT 1')}`);
    const unpacked = unpackFlightSql(any);
    assert.ok(unpacked);
    assert.equal(unpacked.name, 'CommandStatementQuery');
    assert.deepEqual(CommandStatementQuery.decode(unpacked.value).query, 'SELECT 1');
  });

  test('CommandStatementQuery with a transaction and ActionCreatePreparedStatementResult, in Any, byte for byte', () => {
    const query = packAny(CommandStatementQuery, { query: 'SELECT 1', transactionId: Uint8Array.of(1, 2) });
    // Any { type_url = 1 (67 bytes), value = 2 (14 bytes: query = 1, transaction_id = 2) }
    assert.equal(hex(query), `0a43${ascii(`${TYPE_URL_PREFIX}CommandStatementQuery`)}120e0a08${ascii('SELECT 1')}12020102`);
    assert.deepEqual(decodeAs(unpackFlightSql(query)!, CommandStatementQuery), { query: 'SELECT 1', transactionId: Buffer.of(1, 2) });

    const result = packAny(ActionCreatePreparedStatementResult, {
      preparedStatementHandle: Uint8Array.of(1, 2),
      datasetSchema: Uint8Array.of(0xaa, 0xbb, 0xcc),
      parameterSchema: Uint8Array.of(0xdd),
      isUpdate: true,
    });
    const url = `${TYPE_URL_PREFIX}ActionCreatePreparedStatementResult`;
    assert.equal(url.length, 0x51);
    // value (14 bytes): prepared_statement_handle = 1, dataset_schema = 2, parameter_schema = 3, is_update = 4
    assert.equal(hex(result), `0a51${ascii(url)}120e 0a020102 1203aabbcc 1a01dd 2001`.replaceAll(' ', ''));
    assert.deepEqual(decodeAs(unpackFlightSql(result)!, ActionCreatePreparedStatementResult), {
      preparedStatementHandle: Buffer.of(1, 2),
      datasetSchema: Buffer.of(0xaa, 0xbb, 0xcc),
      parameterSchema: Buffer.of(0xdd),
      isUpdate: true,
    });
  });

  test('plain SQL text, table names and other Anys are not Flight SQL', () => {
    for (const text of ['SELECT 1', 'flights', '\nSELECT 1', 'INSERT INTO t VALUES (1)', '']) {
      assert.equal(unpackFlightSql(Buffer.from(text)), null, JSON.stringify(text));
    }
    assert.equal(unpackFlightSql(encodeAny('type.googleapis.com/google.protobuf.StringValue', Uint8Array.of(0x0a, 0x01, 0x61))), null);
    assert.equal(unpackFlightSql(bytes('0a03616263 1801')), null, 'an Any with a third field');
    assert.equal(unpackFlightSql(bytes('0a7f616263')), null, 'a type URL running past the end');
    assert.equal(unpackFlightSql(bytes('0a02c328')), null, 'a type URL that is not UTF-8');
    assert.equal(tryDecodeAny(bytes('1203010203')), null, 'no type URL');
  });

  test('the value of an Any may be absent (an empty message)', () => {
    const any = encodeAny(`${TYPE_URL_PREFIX}ActionBeginTransactionRequest`, new Uint8Array(0));
    assert.deepEqual(unpackFlightSql(any), { name: 'ActionBeginTransactionRequest', value: new Uint8Array(0) });
  });
});

describe('statement tickets', () => {
  test('a query ticket carries its SQL, transaction and parameters inside TicketStatementQuery', () => {
    const ticket = {
      kind: 'query',
      queryId: Uint8Array.of(9, 9),
      sql: 'SELECT ?',
      transactionId: Uint8Array.of(1),
      parameters: Uint8Array.of(5, 6),
    } as const;
    const encoded = encodeTicket(ticket);
    assert.equal(unpackFlightSql(encoded)?.name, 'TicketStatementQuery');
    assert.deepEqual(statementTicketOf(Uint8Array.from(encoded)), ticket);
  });

  test('an outcome ticket carries the statement and rows changed', () => {
    const ticket = { kind: 'outcome', queryId: Uint8Array.of(1), statement: 'INSERT', rowsChanged: 12 } as const;
    assert.deepEqual(statementTicketOf(Uint8Array.from(encodeTicket(ticket))), ticket);
  });

  test('a plain ticket is not a statement ticket; a foreign handle is refused', () => {
    assert.equal(statementTicketOf(Buffer.from('SELECT 1')), null);
    assert.throws(() => decodeTicketHandle(bytes('0863')), /not issued by this server/);
  });
});

describe('GetSqlInfo values', () => {
  const values = new Map<number, SqlInfoValue>([
    [SqlInfo.FLIGHT_SQL_SERVER_NAME, { kind: 'string', value: 'duck-flight' }],
    [SqlInfo.FLIGHT_SQL_SERVER_READ_ONLY, { kind: 'bool', value: false }],
    [SqlInfo.FLIGHT_SQL_SERVER_TRANSACTION, { kind: 'int32', value: 1 }],
    [SqlInfo.SQL_KEYWORDS, { kind: 'string-list', value: ['select', 'from'] }],
  ]);

  test('the value column is the spec dense union, members chosen by value kind', () => {
    const batch = sqlInfoBatch(values, [SqlInfo.SQL_KEYWORDS, SqlInfo.FLIGHT_SQL_SERVER_NAME, 9999, SqlInfo.FLIGHT_SQL_SERVER_TRANSACTION]);
    const table = tableFromIPC(tableToIPC(new Table([batch])));
    assert.equal(String(table.schema), String(SQL_INFO_SCHEMA));
    assert.deepEqual(
      table.schema.fields.map((f) => [f.name, f.nullable]),
      [
        ['info_name', false],
        ['value', false],
      ],
    );
    const union = table.getChild('value')!.data[0]!;
    assert.deepEqual(
      [...union.typeIds.subarray(0, union.length)],
      [4, 0, 3],
      'string_list, string_value, int32_bitmask; the unknown id 9999 is left out',
    );
    assert.deepEqual(table.getChild('info_name')!.toArray(), Uint32Array.of(508, 0, 8));
    assert.deepEqual([...table.getChild('value')!.get(0)!], ['select', 'from']);
    assert.equal(table.getChild('value')!.get(1), 'duck-flight');
    assert.equal(table.getChild('value')!.get(2), 1);
  });

  test('no ids asked for means every id, in id order', () => {
    const batch = sqlInfoBatch(values, []);
    assert.deepEqual(batch.getChild('info_name')!.toArray(), Uint32Array.of(0, 3, 8, 508));
  });
});
