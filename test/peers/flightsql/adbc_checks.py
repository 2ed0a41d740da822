"""Flight SQL checks with the ADBC Flight SQL driver (Go, through adbc_driver_flightsql.dbapi).

A client none of us wrote, run against our server:

    python test/peers/flightsql/adbc_checks.py --uri grpc://127.0.0.1:PORT [--only NAME,...] [--list]

One JSON line per check: {"check": NAME, "ok": true|false, "detail": "...", "seconds": 0.1};
exit 1 if any failed, 2 on bad arguments. Checks make their own tables (named after the check)
so they can run in any order against one server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import os
import sys
import threading
import time
import traceback
import uuid
from typing import Callable

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa
import pyarrow.flight as flight

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from compare import first_difference  # noqa: E402  (test/peers/compare.py)


class CheckFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def expect_equal(got, want, what: str) -> None:
    expect(got == want, f"{what}: got {got!r}, want {want!r}")


def expect_tables_equal(got: pa.Table, want: pa.Table, what: str) -> None:
    difference = first_difference(got, want)
    expect(difference is None, f"{what}: {difference}")


def expect_error(work: Callable[[], object], kinds, needle: str, what: str) -> BaseException:
    try:
        work()
    except kinds as error:  # noqa: PERF203
        expect(needle.lower() in str(error).lower(), f"{what}: error {type(error).__name__} lacks {needle!r}: {str(error)[:300]}")
        return error
    raise CheckFailed(f"{what}: no error raised (expected {needle!r})")


class Session:
    def __init__(self, uri: str):
        self.uri = uri

    def connect(self, autocommit: bool = True) -> flight_sql.Connection:
        return flight_sql.connect(self.uri, autocommit=autocommit)

    def plain(self) -> flight.FlightClient:
        """pyarrow's Flight client on the same port: the plain face (SQL text tickets)."""
        return flight.FlightClient(self.uri)

    def plain_get(self, sql: str) -> pa.Table:
        return self.plain().do_get(flight.Ticket(sql.encode())).read_all()

    def query(self, sql: str, parameters=None) -> pa.Table:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(sql, parameters)
            return cur.fetch_arrow_table()


CHECKS: list[tuple[str, Callable[[Session], str]]] = []


def check(name: str):
    def register(fn: Callable[[Session], str]):
        CHECKS.append((name, fn))
        return fn
    return register


@check("query")
def check_query(s: Session) -> str:
    table = s.query("SELECT 42 AS answer, 'duck' AS name, 1.5::DOUBLE AS x FROM range(3)")
    expect_equal(table.schema.names, ["answer", "name", "x"], "column names")
    expect_equal(str(table.schema.field("answer").type), "int32", "answer type")
    expect_equal(table.to_pydict(), {"answer": [42] * 3, "name": ["duck"] * 3, "x": [1.5] * 3}, "rows")
    big = s.query("SELECT range AS i FROM range(200000)")
    expect_equal(big.num_rows, 200000, "rows of a multi-batch result")
    expect_equal(big.column("i").to_pylist()[-1], 199999, "last row")
    return "SELECT through GetFlightInfo + DoGet, 3 rows and 200000 rows"


@check("parameters")
def check_parameters(s: Session) -> str:
    expect_equal(s.query("SELECT ?", [1]).column(0).to_pylist(), [1], "SELECT ? with [1]")
    table = s.query("SELECT ? AS a, ? AS b, ? AS c, ?::DATE AS d", [7, "seven", None, "2024-02-29"])
    expect_equal(table.to_pylist(), [{"a": 7, "b": "seven", "c": None, "d": dt.date(2024, 2, 29)}], "four parameters")
    typed = [b"\x00\x01", decimal.Decimal("12.345"), dt.datetime(2024, 2, 29, 1, 2, 3, 456789), 1.5, True, [1, 2], {"a": 1}]
    table = s.query("SELECT ? AS b, ? AS dec, ? AS ts, ? AS f, ? AS bo, ? AS l, ? AS st", typed)
    expect_equal([str(f.type) for f in table.schema],
                 ["binary", "decimal128(5, 3)", "timestamp[us]", "double", "bool", table.schema.field("l").type.__str__(), "struct<a: int64>"],
                 "parameter types carried into the result")
    expect(str(table.schema.field("l").type).startswith("list<"), f"a list parameter: {table.schema.field('l').type}")
    expect_equal(list(table.to_pylist()[0].values()), typed, "values of typed parameters")
    rows = s.query("SELECT range AS r FROM range(10) WHERE range >= ? AND range < ?", [3, 6])
    expect_equal(rows.column("r").to_pylist(), [3, 4, 5], "parameters in a WHERE clause")
    with s.connect() as conn, conn.cursor() as cur:
        for value in (1, 2, 3):
            cur.execute("SELECT ? * 10 AS v", [value])
            expect_equal(cur.fetchall(), [(value * 10,)], f"re-executed with {value}")
    return "positional parameters of eleven types bound through DoPut(CommandPreparedStatementQuery)"


@check("executemany")
def check_executemany(s: Session) -> str:
    with s.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE OR REPLACE TABLE executemany_t (i INTEGER, s VARCHAR)")
        cur.executemany("INSERT INTO executemany_t VALUES (?, ?)", [(1, "a"), (2, "b"), (3, None)])
        expect_equal(cur.rowcount, 3, "rowcount of executemany")
        cur.execute("SELECT * FROM executemany_t ORDER BY i")
        expect_equal(cur.fetchall(), [(1, "a"), (2, "b"), (3, None)], "rows inserted")
    return "three parameter rows through DoPut(CommandPreparedStatementUpdate), rowcount 3"


@check("statement_update")
def check_statement_update(s: Session) -> str:
    with s.connect() as conn:
        with conn.cursor() as cur:
            cur.execute("CREATE OR REPLACE TABLE update_t AS SELECT range AS i FROM range(10)")
        statement = adbc_driver_manager.AdbcStatement(conn.adbc_connection)
        try:
            statement.set_sql_query("UPDATE update_t SET i = i + 100 WHERE i < 4")
            changed = statement.execute_update()
        finally:
            statement.close()
        expect_equal(changed, 4, "rows changed by UPDATE")
    expect_equal(s.query("SELECT count(*) AS n FROM update_t WHERE i >= 100").column(0).to_pylist(), [4], "rows updated")
    return "UPDATE through DoPut(CommandStatementUpdate) changed 4 rows"


def ingest_data(offset: int = 0) -> pa.Table:
    return pa.table({"id": pa.array([offset + 1, offset + 2, offset + 3], pa.int64()),
                     "name": pa.array(["a", None, "c"], pa.utf8())})


def ingest(s: Session, table: str, data: pa.Table, mode: str, **kwargs) -> int:
    with s.connect() as conn, conn.cursor() as cur:
        return cur.adbc_ingest(table, data, mode=mode, **kwargs)


def read_ids(s: Session, table: str) -> list[int]:
    return s.plain_get(f"SELECT id FROM {table} ORDER BY id").column("id").to_pylist()


@check("ingest_create")
def check_ingest_create(s: Session) -> str:
    s.plain_get("DROP TABLE IF EXISTS ingest_create_t")
    expect_equal(ingest(s, "ingest_create_t", ingest_data(), "create"), 3, "rows ingested")
    back = s.plain_get("SELECT * FROM ingest_create_t ORDER BY id")
    expect_tables_equal(back, ingest_data(), "read back through the plain face")
    expect_error(lambda: ingest(s, "ingest_create_t", ingest_data(), "create"),
                 adbc_driver_manager.Error, "already exists", "create on an existing table")
    expect_equal(read_ids(s, "ingest_create_t"), [1, 2, 3], "table unchanged after the refused create")
    return "create made the table; a second create is refused and changes nothing"


@check("ingest_append")
def check_ingest_append(s: Session) -> str:
    s.plain_get("CREATE OR REPLACE TABLE ingest_append_t (id BIGINT, name VARCHAR)")
    expect_equal(ingest(s, "ingest_append_t", ingest_data(), "append"), 3, "first append")
    expect_equal(ingest(s, "ingest_append_t", ingest_data(10), "append"), 3, "second append")
    expect_equal(read_ids(s, "ingest_append_t"), [1, 2, 3, 11, 12, 13], "rows after two appends")
    expect_error(lambda: ingest(s, "ingest_append_missing_t", ingest_data(), "append"),
                 adbc_driver_manager.Error, "does not exist", "append to a missing table")
    return "append added rows twice; append to a missing table is refused"


@check("ingest_replace")
def check_ingest_replace(s: Session) -> str:
    s.plain_get("CREATE OR REPLACE TABLE ingest_replace_t (other INTEGER)")
    expect_equal(ingest(s, "ingest_replace_t", ingest_data(), "replace"), 3, "replace an existing table")
    back = s.plain_get("SELECT * FROM ingest_replace_t ORDER BY id")
    expect_tables_equal(back, ingest_data(), "replaced table (new columns)")
    s.plain_get("DROP TABLE IF EXISTS ingest_replace_new_t")
    expect_equal(ingest(s, "ingest_replace_new_t", ingest_data(), "replace"), 3, "replace a missing table")
    expect_equal(read_ids(s, "ingest_replace_new_t"), [1, 2, 3], "rows of the created table")
    return "replace dropped and recreated the table, and created a missing one"


@check("ingest_create_append")
def check_ingest_create_append(s: Session) -> str:
    s.plain_get("DROP TABLE IF EXISTS ingest_ca_t")
    expect_equal(ingest(s, "ingest_ca_t", ingest_data(), "create_append"), 3, "create_append on a missing table")
    expect_equal(ingest(s, "ingest_ca_t", ingest_data(10), "create_append"), 3, "create_append on an existing table")
    expect_equal(read_ids(s, "ingest_ca_t"), [1, 2, 3, 11, 12, 13], "rows")
    return "create_append created, then appended"


@check("ingest_all_or_nothing")
def check_ingest_all_or_nothing(s: Session) -> str:
    s.plain_get("CREATE OR REPLACE TABLE ingest_aon_t (id BIGINT PRIMARY KEY, name VARCHAR)")
    s.plain_get("INSERT INTO ingest_aon_t VALUES (2, 'there')")
    expect_error(lambda: ingest(s, "ingest_aon_t", ingest_data(), "append"),
                 adbc_driver_manager.Error, "constraint", "append violating the primary key")
    expect_equal(read_ids(s, "ingest_aon_t"), [2], "no row of the failed ingest remains")
    wrong = pa.table({"id": pa.array([1], pa.int64()), "other": pa.array([1.5], pa.float64())})
    expect_error(lambda: ingest(s, "ingest_aon_t", wrong, "append"), adbc_driver_manager.Error, "column", "append with other columns")
    expect_equal(read_ids(s, "ingest_aon_t"), [2], "still unchanged")
    return "a failed ingest (constraint, schema mismatch) leaves the table as it was"


@check("ingest_schema")
def check_ingest_schema(s: Session) -> str:
    s.plain_get("CREATE SCHEMA IF NOT EXISTS ingest_elsewhere")
    s.plain_get("DROP TABLE IF EXISTS ingest_elsewhere.t")
    expect_equal(ingest(s, "t", ingest_data(), "create", db_schema_name="ingest_elsewhere"), 3, "ingest into a schema")
    expect_equal(read_ids(s, "ingest_elsewhere.t"), [1, 2, 3], "rows in ingest_elsewhere.t")
    exists = s.plain_get("SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 't'")
    expect_equal(exists.column("n").to_pylist(), [0], "nothing created in main")
    return "db_schema_name puts the table in that schema"


@check("get_objects")
def check_get_objects(s: Session) -> str:
    s.plain_get("CREATE SCHEMA IF NOT EXISTS objects_s")
    s.plain_get("CREATE OR REPLACE TABLE objects_s.objects_t (id INTEGER NOT NULL, label VARCHAR, amount DECIMAL(10, 2))")
    s.plain_get("CREATE OR REPLACE VIEW objects_s.objects_v AS SELECT id FROM objects_s.objects_t")
    with s.connect() as conn:
        everything = conn.adbc_get_objects(depth="all", db_schema_filter="objects_s").read_all().to_pylist()
        catalogs = [c["catalog_name"] for c in everything]
        expect("memory" in catalogs, f"catalog memory listed: {catalogs}")
        memory = next(c for c in everything if c["catalog_name"] == "memory")
        schemas = {d["db_schema_name"]: d for d in memory["catalog_db_schemas"]}
        expect_equal(sorted(schemas), ["objects_s"], "schemas matching objects_s")
        tables = {t["table_name"]: t for t in schemas["objects_s"]["db_schema_tables"]}
        expect_equal(sorted(tables), ["objects_t", "objects_v"], "tables")
        expect_equal(tables["objects_t"]["table_type"], "TABLE", "table type")
        expect_equal(tables["objects_v"]["table_type"], "VIEW", "view type")
        columns = [(c["column_name"], c["ordinal_position"], c["xdbc_type_name"]) for c in tables["objects_t"]["table_columns"]]
        expect_equal(columns, [("id", 1, "INTEGER"), ("label", 2, "VARCHAR"), ("amount", 3, "DECIMAL(10,2)")], "columns")
        only_views = conn.adbc_get_objects(depth="tables", db_schema_filter="objects_s", table_types_filter=["VIEW"]).read_all().to_pylist()
        names = [t["table_name"] for c in only_views for d in c["catalog_db_schemas"] or [] for t in d["db_schema_tables"] or []]
        expect_equal(names, ["objects_v"], "table_types filter VIEW")
        like = conn.adbc_get_objects(depth="tables", db_schema_filter="objects_%", table_name_filter="objects\\_t").read_all().to_pylist()
        names = [t["table_name"] for c in like for d in c["catalog_db_schemas"] or [] for t in d["db_schema_tables"] or []]
        expect_equal(names, ["objects_t"], "LIKE filters (schema objects_%, table objects\\_t)")
    return "catalogs, schemas, tables, views and columns, with type and LIKE filters"


@check("get_table_schema")
def check_get_table_schema(s: Session) -> str:
    s.plain_get("CREATE OR REPLACE TABLE schema_t (id INTEGER NOT NULL, label VARCHAR, ts TIMESTAMP, d DECIMAL(18, 3), l INTEGER[])")
    with s.connect() as conn:
        schema = conn.adbc_get_table_schema("schema_t")
    got = [(f.name, str(f.type), f.nullable) for f in schema]
    want = [("id", "int32", False), ("label", "string", True), ("ts", "timestamp[us]", True),
            ("d", "decimal128(18, 3)", True), ("l", "list<l: int32>", True)]
    if got[4][1] != want[4][1] and got[4][1].startswith("list<"):
        want[4] = (want[4][0], got[4][1], True)  # the list's child field name is the bridge's choice
    expect_equal(got, want, "schema")
    expect_equal(schema.field("id").metadata.get(b"ARROW:FLIGHT:SQL:TYPE_NAME"), b"INTEGER", "TYPE_NAME metadata")
    plain = s.plain_get("SELECT * FROM schema_t")
    expect(plain.schema.equals(pa.schema([pa.field(f.name, f.type) for f in schema])), "same types as a query of the table")
    return "types and nullability of the table's columns, as a query of it returns them"


@check("get_info")
def check_get_info(s: Session) -> str:
    with s.connect() as conn:
        info = conn.adbc_get_info()
        # dbapi's adbc_get_info asks for the names and versions only; ask for vendor_sql (3) and
        # vendor_substrait (4) by code.
        handle = conn.adbc_connection.get_info([3, 4])
        raw = pa.RecordBatchReader._import_from_c(handle.address).read_all().to_pylist()
        info.update({{3: "vendor_sql", 4: "vendor_substrait"}[r["info_name"]]: r["info_value"] for r in raw})
    expect_equal(info.get("vendor_name"), "duck-flight", "vendor_name")
    expect("DuckDB v1.5" in str(info.get("vendor_version")), f"vendor_version names DuckDB: {info.get('vendor_version')}")
    expect(str(info.get("vendor_arrow_version", "")).count(".") == 2, f"vendor_arrow_version: {info.get('vendor_arrow_version')}")
    expect_equal(info.get("vendor_sql"), True, "vendor_sql")
    expect_equal(info.get("vendor_substrait"), False, "vendor_substrait")
    return f"{info['vendor_name']} {info['vendor_version']}, Arrow {info['vendor_arrow_version']}"


@check("get_table_types")
def check_get_table_types(s: Session) -> str:
    with s.connect() as conn:
        types = conn.adbc_get_table_types()
    expect_equal(types, ["TABLE", "VIEW"], "table types")
    return "TABLE, VIEW"


@check("transaction_commit")
def check_transaction_commit(s: Session) -> str:
    s.plain_get("CREATE OR REPLACE TABLE txn_commit_t (i INTEGER)")
    with s.connect(autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO txn_commit_t VALUES (1), (2)")
        cur.execute("SELECT count(*) FROM txn_commit_t")
        expect_equal(cur.fetchone(), (2,), "own rows visible inside the transaction")
        expect_equal(s.plain_get("SELECT count(*) AS n FROM txn_commit_t").column(0).to_pylist(), [0], "invisible outside before commit")
        conn.commit()
        expect_equal(s.plain_get("SELECT count(*) AS n FROM txn_commit_t").column(0).to_pylist(), [2], "visible outside after commit")
        cur.execute("INSERT INTO txn_commit_t VALUES (3)")
        conn.commit()
    expect_equal(s.plain_get("SELECT sum(i) AS n FROM txn_commit_t").column(0).to_pylist(), [6], "second transaction committed too")
    return "rows invisible to others until commit, then visible; a second transaction after the first"


@check("transaction_rollback")
def check_transaction_rollback(s: Session) -> str:
    s.plain_get("CREATE OR REPLACE TABLE txn_rollback_t (i INTEGER)")
    s.plain_get("INSERT INTO txn_rollback_t VALUES (1)")
    with s.connect(autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO txn_rollback_t VALUES (2), (3)")
        cur.execute("DELETE FROM txn_rollback_t WHERE i = 1")
        cur.execute("CREATE TABLE txn_rollback_new (x INTEGER)")
        conn.rollback()
        cur.execute("SELECT i FROM txn_rollback_t ORDER BY i")
        expect_equal(cur.fetchall(), [(1,)], "after rollback, read back in the same connection")
    expect_equal(s.plain_get("SELECT i FROM txn_rollback_t").column(0).to_pylist(), [1], "read back through another client")
    created = s.plain_get("SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'txn_rollback_new'")
    expect_equal(created.column(0).to_pylist(), [0], "the CREATE TABLE was rolled back too")
    return "insert, delete and create table all undone by rollback"


@check("transaction_statement_reuse")
def check_transaction_statement_reuse(s: Session) -> str:
    s.plain_get("CREATE OR REPLACE TABLE txn_reuse_t (i INTEGER)")
    with s.connect(autocommit=False) as conn, conn.cursor() as cur:
        # The same SQL text keeps the cursor's prepared statement, made in the first transaction.
        cur.execute("INSERT INTO txn_reuse_t VALUES (?)", [1])
        conn.commit()
        cur.execute("INSERT INTO txn_reuse_t VALUES (?)", [2])
        conn.rollback()
        cur.execute("INSERT INTO txn_reuse_t VALUES (?)", [3])
        expect_equal(s.plain_get("SELECT i FROM txn_reuse_t ORDER BY i").column(0).to_pylist(), [1], "before the last commit")
        conn.commit()
    expect_equal(s.plain_get("SELECT i FROM txn_reuse_t ORDER BY i").column(0).to_pylist(), [1, 3], "after commit, rollback, commit")
    return "a statement prepared in one transaction runs in the connection's next one (commit kept 1 and 3, rollback dropped 2)"


@check("cancel")
def check_cancel(s: Session) -> str:
    with s.connect() as conn, conn.cursor() as cur:
        outcome: dict[str, object] = {}

        def run():
            started = time.monotonic()
            try:
                cur.execute("SELECT count(*) FROM range(10000000000) a")
                outcome["result"] = cur.fetchall()
            except BaseException as error:  # noqa: BLE001
                outcome["error"] = error
            outcome["seconds"] = time.monotonic() - started

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(1.0)
        expect(worker.is_alive(), "the long query finished before it could be cancelled")
        cancelled_at = time.monotonic()
        cur.adbc_cancel()
        worker.join(30)
        expect(not worker.is_alive(), "the query did not stop within 30 s of adbc_cancel()")
        expect("error" in outcome, f"the cancelled query returned {outcome.get('result')}")
        stopped = time.monotonic() - cancelled_at
    expect_equal(s.query("SELECT 1 AS one").column(0).to_pylist(), [1], "the server answers after the cancel")
    return f"adbc_cancel() stopped the query {stopped:.2f} s later: {type(outcome['error']).__name__}"


@check("errors")
def check_errors(s: Session) -> str:
    bad = expect_error(lambda: s.query("SELEC 1"), adbc_driver_manager.Error, "syntax error", "bad SQL")
    expect("Parser Error" in str(bad), f"DuckDB's parser message: {bad}")
    missing = expect_error(lambda: s.query("SELECT * FROM no_such_table_anywhere"), adbc_driver_manager.Error,
                           "no_such_table_anywhere", "missing table")
    expect("Catalog Error" in str(missing), f"DuckDB's catalog message: {missing}")
    expect_error(lambda: s.query("SELECT 1/0::INTEGER, 'x'::INTEGER"), adbc_driver_manager.Error, "Conversion Error", "bad cast")
    expect_equal(s.query("SELECT 2 AS two").column(0).to_pylist(), [2], "the server answers after the errors")
    return f"bad SQL surfaces as {type(bad).__name__}: {str(bad).splitlines()[0][:120]}"


@check("plain_face")
def check_plain_face(s: Session) -> str:
    client = s.plain()
    got = client.do_get(flight.Ticket(b"SELECT 7 AS seven")).read_all()
    expect_equal(got.to_pydict(), {"seven": [7]}, "plain SQL ticket")
    s.plain_get("DROP TABLE IF EXISTS plain_put_t")
    writer, reader = client.do_put(flight.FlightDescriptor.for_command(b"plain_put_t"), ingest_data().schema)
    writer.write_table(ingest_data())
    writer.done_writing()
    reader.read()
    writer.close()
    expect_equal(s.query("SELECT id FROM plain_put_t ORDER BY id").column(0).to_pylist(), [1, 2, 3], "plain DoPut read through Flight SQL")
    return "SQL text tickets and table-name DoPut commands still work beside Flight SQL"


# --- the DuckDB type matrix: ADBC against the plain face ---

TYPE_MATRIX = [
    ("tinyint", "[-128, 127, NULL]::TINYINT[]"),
    ("smallint", "[-32768, 32767, NULL]::SMALLINT[]"),
    ("integer", "[-2147483648, 2147483647, NULL]::INTEGER[]"),
    ("bigint", "[-9223372036854775808, 9223372036854775807, NULL]::BIGINT[]"),
    ("hugeint", "[-170141183460469231731687303715884105727, 1, NULL]::HUGEINT[]"),
    ("utinyint", "[0, 255, NULL]::UTINYINT[]"),
    ("usmallint", "[0, 65535, NULL]::USMALLINT[]"),
    ("uinteger", "[0, 4294967295, NULL]::UINTEGER[]"),
    ("ubigint", "[0, 18446744073709551615, NULL]::UBIGINT[]"),
    ("float", "[1.5::FLOAT, 'inf'::FLOAT, NULL]"),
    ("double", "[0.1, -1e300, NULL]::DOUBLE[]"),
    ("decimal_4_1", "[123.4::DECIMAL(4,1), -0.1::DECIMAL(4,1), NULL]"),
    ("decimal_18_6", "[123456789012.345678, -0.000001, NULL]::DECIMAL(18,6)[]"),
    ("decimal_38_10", "['1234567890123456789012345678.0123456789', '-0.0000000001', NULL]::DECIMAL(38,10)[]"),
    ("varchar", "['hello', 'a longer string, past twelve bytes ünïcødé 🦆', NULL]::VARCHAR[]"),
    ("blob", "['\\x00\\x01'::BLOB, 'bytes'::BLOB, NULL]"),
    ("boolean", "[true, false, NULL]::BOOLEAN[]"),
    ("date", "['2024-02-29', '1970-01-01', NULL]::DATE[]"),
    ("time", "['12:34:56.789012', '00:00:00', NULL]::TIME[]"),
    ("timestamp", "['2024-02-29 12:34:56.789012', '1969-12-31 23:59:59.999999', NULL]::TIMESTAMP[]"),
    ("timestamp_s", "['2024-02-29 12:34:56', '1970-01-01', NULL]::TIMESTAMP_S[]"),
    ("timestamp_ms", "['2024-02-29 12:34:56.789', '1970-01-01', NULL]::TIMESTAMP_MS[]"),
    ("timestamp_ns", "['2024-02-29 12:34:56.789012345', '1970-01-01', NULL]::TIMESTAMP_NS[]"),
    ("timestamptz", "['2024-02-29 12:34:56.789012+00', '2000-01-01 00:00:00+05', NULL]::TIMESTAMPTZ[]"),
    ("interval", "[INTERVAL '1 month 2 days 3 seconds', INTERVAL '-1 year', NULL]"),
    ("uuid", "['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID, '00000000-0000-0000-0000-000000000000'::UUID, NULL]"),
    ("list", "[[1, 2, 3], [], NULL]::INTEGER[][]"),
    ("nested_list", "[[['a'], NULL], [[]], NULL]::VARCHAR[][][]"),
    ("struct", "[{'a': 1, 'b': 'one'}, {'a': NULL, 'b': 'no a'}, NULL]::STRUCT(a INTEGER, b VARCHAR)[]"),
    ("map", "[MAP {'x': 1, 'y': 2}, MAP {}, NULL]::MAP(VARCHAR, BIGINT)[]"),
]


def matrix_sql() -> str:
    columns = ", ".join(f"unnest({values}) AS {name}" for name, values in TYPE_MATRIX)
    return f"SELECT row_number() OVER () AS row_id, * FROM (SELECT {columns})"


@check("type_matrix_select")
def check_type_matrix_select(s: Session) -> str:
    sql = matrix_sql()
    through_adbc = s.query(sql)
    through_plain = s.plain_get(sql)
    expect_equal(through_adbc.num_rows, 3, "rows")
    expect_tables_equal(through_adbc, through_plain, "ADBC result vs plain DoGet of the same SQL")
    return f"{len(TYPE_MATRIX)} DuckDB types: the ADBC result equals the plain face's ({', '.join(str(f.type) for f in through_adbc.schema)[:300]})"


@check("type_matrix_ingest")
def check_type_matrix_ingest(s: Session) -> str:
    selected = s.plain_get(matrix_sql())
    s.plain_get("DROP TABLE IF EXISTS type_matrix_t")
    expect_equal(ingest(s, "type_matrix_t", selected, "create"), 3, "rows ingested")
    back_plain = s.plain_get("SELECT * FROM type_matrix_t ORDER BY row_id")
    expect_tables_equal(back_plain, selected, "ingested through ADBC, read through the plain face")
    back_adbc = s.query("SELECT * FROM type_matrix_t ORDER BY row_id")
    expect_tables_equal(back_adbc, selected, "ingested through ADBC, read through ADBC")
    return f"{len(TYPE_MATRIX)} types ingested with adbc_ingest come back equal through both faces"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uri", help="grpc://host:port of the server")
    parser.add_argument("--only", help="comma-separated check names")
    parser.add_argument("--list", action="store_true", help="print the check names and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, _ in CHECKS:
            print(name)
        return 0
    if not args.uri:
        parser.error("--uri is required")
    selected = CHECKS
    if args.only:
        wanted = args.only.split(",")
        unknown = [w for w in wanted if w not in dict(CHECKS)]
        if unknown:
            parser.error(f"unknown checks: {', '.join(unknown)}")
        selected = [(n, f) for n, f in CHECKS if n in wanted]
    session = Session(args.uri)
    failed = 0
    for name, fn in selected:
        started = time.monotonic()
        try:
            detail, ok = fn(session), True
        except Exception as error:  # noqa: BLE001
            ok = False
            detail = f"{type(error).__name__}: {error}" if isinstance(error, CheckFailed) else traceback.format_exc()
        failed += 0 if ok else 1
        print(json.dumps({"check": name, "ok": ok, "detail": detail, "seconds": round(time.monotonic() - started, 3)}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
