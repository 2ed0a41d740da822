"""pyarrow.flight as a CLIENT of duck-flight (our DuckDB Flight server), doing what the seeds'
Python clients do: Duck Takes Flight's DuckDBFlightClient and Mallard's demo.

    python test/peers/server/duck_flight_checks.py --location grpc://127.0.0.1:PORT
        [--auth USER:PASSWORD] [--only NAME[,NAME...]] [--timeout SECONDS]
        [--exchange-rows N] [--list]

Prints one JSON line per check, `{"check": name, "ok": true|false, "detail": "...",
"seconds": s}`, and exits 1 when any check fails (2 on bad arguments). Every call carries a
deadline (--timeout). Tables the checks create start with `py_`; the server should be fresh.
With --auth the `auth` check runs first and every later call carries the bearer token.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight

CHECKS: list[tuple[str, Callable[["Context"], str]]] = []


def check(fn: Callable[["Context"], str]) -> Callable[["Context"], str]:
    CHECKS.append((fn.__name__, fn))
    return fn


class CheckFailed(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def expect_raises(kinds, needle: str, fn: Callable[[], object], what: str) -> BaseException:
    try:
        fn()
    except kinds as e:  # noqa: B030 - a tuple of exception classes
        expect(needle in str(e), f"{what}: {type(e).__name__} without {needle!r}: {str(e)[:300]}")
        return e
    except Exception as e:
        raise CheckFailed(f"{what}: wanted {kinds}, got {type(e).__name__}: {str(e)[:300]}") from e
    raise CheckFailed(f"{what}: the call succeeded")


class Context:
    def __init__(self, location: str, timeout: float, auth: tuple[str, str] | None, exchange_rows: int):
        self.location = location
        self.client = flight.FlightClient(location)
        self.timeout = timeout
        self.auth = auth
        self.headers: list[tuple[bytes, bytes]] = []
        self.exchange_rows = exchange_rows

    def options(self) -> flight.FlightCallOptions:
        return flight.FlightCallOptions(timeout=self.timeout, headers=self.headers)

    def get(self, sql: str) -> pa.Table:
        """Duck Takes Flight's execute_query: the ticket is the SQL text."""
        return self.client.do_get(flight.Ticket(sql.encode("utf-8")), options=self.options()).read_all()

    def put(self, descriptor: flight.FlightDescriptor, table: pa.Table) -> list[dict]:
        writer, reader = self.client.do_put(descriptor, table.schema, options=self.options())
        writer.write_table(table)
        writer.done_writing()
        results = []
        while True:
            try:
                buf = reader.read()
            except StopIteration:
                break
            if buf is None:
                break
            results.append(json.loads(buf.to_pybytes()))
        writer.close()
        return results

    def action(self, kind: str, body: str | bytes = b"") -> list[bytes]:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return [r.body.to_pybytes() for r in self.client.do_action(flight.Action(kind, data), options=self.options())]


PEOPLE = pa.table({
    "id": pa.array([1, 2, 3], pa.int64()),
    "name": pa.array(["Alice", "Bob", None], pa.string()),
    "value": pa.array([10.1, None, 30.3], pa.float64()),
})


@check
def auth(ctx: Context) -> str:
    expect_raises(flight.FlightUnauthenticatedError, "authentication required", lambda: ctx.get("SELECT 1"), "no token")
    expect_raises(flight.FlightUnauthenticatedError, "invalid username or password",
                  lambda: ctx.client.authenticate_basic_token(ctx.auth[0], ctx.auth[1] + "x",
                                                              options=flight.FlightCallOptions(timeout=ctx.timeout)),
                  "wrong password")
    header = ctx.client.authenticate_basic_token(ctx.auth[0], ctx.auth[1], options=flight.FlightCallOptions(timeout=ctx.timeout))
    expect(header[0] == b"authorization" and header[1].startswith(b"Bearer "), f"token header {header!r}")
    ctx.headers = [header]
    expect(ctx.get("SELECT 1 AS one").column("one").to_pylist() == [1], "a call with the token")
    return "no token and a wrong password refused; authenticate_basic_token's bearer header works"


@check
def sql_ticket(ctx: Context) -> str:
    got = ctx.get("SELECT range::INTEGER AS i, 'v' || range AS s, range / 2 AS half FROM range(5) ORDER BY range")
    want = pa.table({
        "i": pa.array(range(5), pa.int32()),
        "s": pa.array([f"v{i}" for i in range(5)]),
        "half": pa.array([i / 2 for i in range(5)], pa.float64()),
    })
    expect(got.equals(want), f"got {got.to_pydict()} with schema {got.schema}")
    got.validate(full=True)
    return f"{got.num_rows} rows, {got.schema.types}"


@check
def statement_ticket(ctx: Context) -> str:
    created = ctx.get("CREATE TABLE py_stmt (a INTEGER)")
    expect(created.column_names == ["status", "statement", "rows_changed"], f"columns {created.column_names}")
    inserted = ctx.get("INSERT INTO py_stmt VALUES (1), (2), (3)")
    row = inserted.to_pylist()[0]
    expect(row == {"status": "OK", "statement": "INSERT", "rows_changed": 3}, f"status row {row}")
    return f"status table {row}"


@check
def errors(ctx: Context) -> str:
    expect_raises(pa.ArrowInvalid, 'Parser Error: syntax error at or near "SELEC"', lambda: ctx.get("SELEC 1"), "bad SQL")
    expect_raises(KeyError, "Table with name py_missing does not exist", lambda: ctx.get("SELECT * FROM py_missing"), "missing table")
    expect_raises(pa.ArrowInvalid, "ticket is empty",
                  lambda: ctx.client.do_get(flight.Ticket(b""), options=ctx.options()).read_all(), "empty ticket")
    return "bad SQL -> ArrowInvalid, missing table -> KeyError, empty ticket -> ArrowInvalid"


@check
def put_path(ctx: Context) -> str:
    first = ctx.put(flight.FlightDescriptor.for_path("py_people"), PEOPLE)
    expect(first == [{"table": "py_people", "rows": 3, "created": True}], f"first put {first}")
    second = ctx.put(flight.FlightDescriptor.for_path("py_people"), PEOPLE)
    expect(second == [{"table": "py_people", "rows": 3, "created": False}], f"second put {second}")
    got = ctx.get("SELECT * FROM py_people ORDER BY id, name NULLS LAST")
    want = pa.concat_tables([PEOPLE, PEOPLE]).sort_by([("id", "ascending")])
    expect(got.equals(want), f"got {got.to_pydict()}")
    return "created, then appended; read back equal"


@check
def put_command(ctx: Context) -> str:
    # Mallard names the table with the descriptor's command.
    batches = [pa.record_batch({"n": pa.array(range(i * 1000, (i + 1) * 1000), pa.int64())}) for i in range(5)]
    table = pa.Table.from_batches(batches)
    first = ctx.put(flight.FlightDescriptor.for_command("py_mallard"), table)
    expect(first == [{"table": "py_mallard", "rows": 5000, "created": True}], f"first put {first}")
    second = ctx.put(flight.FlightDescriptor.for_command("py_mallard"), table.slice(0, 10))
    expect(second == [{"table": "py_mallard", "rows": 10, "created": False}], f"second put {second}")
    got = ctx.get("SELECT count(*) AS c, sum(n) AS s FROM py_mallard").to_pylist()[0]
    expect(got == {"c": 5010, "s": sum(range(5000)) + sum(range(10))}, f"count and sum {got}")
    return "by command: created, appended"


@check
def action_query(ctx: Context) -> str:
    # Duck Takes Flight's execute_action("query", ...).
    out = ctx.action("query", "CREATE TABLE IF NOT EXISTS py_new_table (id INT, name VARCHAR)")
    expect([json.loads(b) for b in out] == [{"statement": "CREATE", "rows_changed": 0}], f"create {out}")
    out = ctx.action("query", "INSERT INTO py_new_table VALUES (1, 'x'), (2, NULL)")
    expect([json.loads(b) for b in out] == [{"statement": "INSERT", "rows_changed": 2}], f"insert {out}")
    out = ctx.action("query", "SELECT * FROM py_new_table ORDER BY id")
    expect([json.loads(b) for b in out] == [{"statement": "SELECT", "columns": ["id", "name"], "rows": [[1, "x"], [2, None]]}],
           f"select {out}")
    expect_raises(pa.ArrowInvalid, "unknown action", lambda: ctx.action("no_such_action"), "unknown action")
    return "CREATE, INSERT, SELECT through the query action"


@check
def list_actions(ctx: Context) -> str:
    types = [a.type for a in ctx.client.list_actions(options=ctx.options())]
    wanted = ["query", "list_tables", "drop_table", "load_parquet", "transfer", "list_exchangers",
              "register_exchanger", "unregister_exchanger", "health", "version"]
    expect(types[:len(wanted)] == wanted, f"actions {types}")
    return ", ".join(types)


@check
def exchange(ctx: Context) -> str:
    # Mallard's demo: write every batch, done_writing(), then read the whole answer.
    rows = ctx.exchange_rows
    per_batch = 100_000
    schema = pa.schema([("n", pa.int64()), ("x", pa.float64())])
    writer, reader = ctx.client.do_exchange(flight.FlightDescriptor.for_command("my_streaming_exchanger"), options=ctx.options())
    writer.begin(schema)
    for start in range(0, rows, per_batch):
        count = min(per_batch, rows - start)
        n = pa.array(range(start, start + count), pa.int64())
        writer.write_batch(pa.record_batch([n, pc.multiply(n.cast(pa.float64()), 0.5)], schema=schema))
    writer.done_writing()
    result = reader.read_all()
    writer.close()
    expect(result.schema.names == ["n", "x", "processed"], f"columns {result.schema}")
    expect(result.schema.field("processed").type == pa.bool_(), f"processed is {result.schema.field('processed').type}")
    expect(result.num_rows == rows, f"{result.num_rows} rows back of {rows}")
    expect(pc.all(result.column("processed")).as_py() is True and result.column("processed").null_count == 0,
           "processed is true on every row")
    total = pc.sum(result.column("n")).as_py()
    expect(total == rows * (rows - 1) // 2, f"sum of n {total}")
    return f"{rows} rows written before reading; all came back, processed = true"


@check
def flight_info(ctx: Context) -> str:
    info = ctx.client.get_flight_info(flight.FlightDescriptor.for_path("py_people"), options=ctx.options())
    expect(info.total_records == 6, f"total_records {info.total_records}")
    expect(info.schema.names == ["id", "name", "value"], f"schema {info.schema}")
    got = ctx.client.do_get(info.endpoints[0].ticket, options=ctx.options()).read_all()
    expect(got.num_rows == 6, f"ticket redeemed {got.num_rows} rows")
    by_command = ctx.client.get_flight_info(flight.FlightDescriptor.for_command("SELECT id * 2 AS twice FROM py_people"),
                                            options=ctx.options())
    expect(by_command.schema == pa.schema([("twice", pa.int64())]), f"command schema {by_command.schema}")
    expect(by_command.total_records == -1, f"command total_records {by_command.total_records}")
    result = ctx.client.get_schema(flight.FlightDescriptor.for_path("py_people"), options=ctx.options())
    expect(result.schema == PEOPLE.schema, f"get_schema {result.schema}")
    expect_raises(KeyError, "py_nothing", lambda: ctx.client.get_flight_info(flight.FlightDescriptor.for_path("py_nothing"),
                                                                           options=ctx.options()), "missing table")
    return "by path (6 records, ticket redeemed), by command, get_schema"


@check
def list_flights(ctx: Context) -> str:
    listed = {}
    for info in ctx.client.list_flights(options=ctx.options()):
        path = "/".join(p.decode() for p in info.descriptor.path)
        listed[path] = info.total_records
    expect(listed.get("py_people") == 6, f"py_people in {listed}")
    expect(listed.get("py_mallard") == 5010, f"py_mallard in {listed}")
    return json.dumps(listed, sort_keys=True)


@check
def drop_and_health(ctx: Context) -> str:
    out = ctx.action("drop_table", "py_stmt")
    expect(json.loads(out[0]) == {"dropped": "py_stmt"}, f"drop {out}")
    expect_raises(KeyError, "py_stmt", lambda: ctx.action("drop_table", "py_stmt"), "drop again")
    health = json.loads(ctx.action("health")[0])
    expect(health["status"] == "ok", f"health {health}")
    return "drop_table, NOT_FOUND on the second, health ok"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--location")
    parser.add_argument("--auth")
    parser.add_argument("--only")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--exchange-rows", type=int, default=2_000_000)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    names = [name for name, _ in CHECKS]
    if args.list:
        print("\n".join(names))
        return 0
    if not args.location:
        parser.error("--location is required")
    auth = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        auth = (user, password)
    selected = [(n, f) for n, f in CHECKS if (auth or n != "auth")]
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(names)
        if unknown:
            parser.error(f"unknown checks: {sorted(unknown)}")
        selected = [(n, f) for n, f in selected if n in wanted or n == "auth"]
    ctx = Context(args.location, args.timeout, auth, args.exchange_rows)
    failed = False
    for name, fn in selected:
        started = time.monotonic()
        try:
            detail, ok = fn(ctx), True
        except Exception as e:  # every failure is reported as a line, never a crash
            detail, ok = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}", False
        failed |= not ok
        print(json.dumps({"check": name, "ok": ok, "detail": detail, "seconds": round(time.monotonic() - started, 3)}), flush=True)
    ctx.client.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
