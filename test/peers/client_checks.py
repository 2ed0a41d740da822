"""pyarrow.flight as a CLIENT against any echo-store server (ours or the reference one).

    python test/peers/client_checks.py --location grpc://127.0.0.1:PORT
        [--auth USER:PASSWORD] [--tls-root CERT.pem] [--only NAME[,NAME...]]
        [--timeout SECONDS] [--list]

Prints one JSON line per check, `{"check": name, "ok": true|false, "detail": "...", "seconds": s}`,
and exits 1 when any check fails (2 on bad arguments). Every call has a deadline (--timeout), so a
server that never answers fails a check rather than hanging. Keys written live under `interop/`.
The `auth` check runs only with --auth. The contract is in test/peers/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable

import pyarrow as pa
import pyarrow.flight as flight

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import first_difference  # noqa: E402
from type_matrix import type_matrix  # noqa: E402

BIG_ROWS = 1_500_000  # 12 MB of int64 in one batch: three times gRPC's default 4 MiB limit


class CheckFailed(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def expect_equal_tables(got: pa.Table, want: pa.Table, what: str) -> None:
    diff = first_difference(want, got)
    expect(diff is None, f"{what}: {diff}")


def expect_raises(kind: type[BaseException] | tuple[type[BaseException], ...], needle: str,
                  fn: Callable[[], object], what: str):
    """Runs fn, which must raise `kind` with `needle` in its message; returns the exception."""
    try:
        fn()
    except kind as e:
        expect(needle in str(e),
               f"{what}: {type(e).__name__} without {needle!r} in: {str(e)[:300]}")
        return e
    except Exception as e:  # a wrong class is the failure being reported, with its name
        raise CheckFailed(f"{what}: wanted {class_names(kind)}, got {type(e).__name__}: "
                          f"{str(e)[:300]}") from e
    raise CheckFailed(f"{what}: wanted {class_names(kind)}, but the call succeeded")


def class_names(kind: type[BaseException] | tuple[type[BaseException], ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def listed_key(info: flight.FlightInfo) -> str:
    """The store key a listed flight stands for: its endpoint's ticket, checked against its
    descriptor (PATH segments joined by '/', or the UTF-8 command)."""
    d = info.descriptor
    if d.descriptor_type == flight.DescriptorType.PATH:
        key = "/".join(p.decode("utf-8") for p in d.path)
    else:
        key = d.command.decode("utf-8")
    ticket = info.endpoints[0].ticket.ticket.decode("utf-8") if info.endpoints else None
    expect(ticket == key, f"listed flight {key!r} has endpoint ticket {ticket!r}")
    return key


def first_line(e: BaseException) -> str:
    return str(e).split("\n", 1)[0][:200]


class Session:
    """What the checks share: the client, the call options (bearer token) and the arguments."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.location = args.location
        self.tls_root = None
        if args.tls_root:
            with open(args.tls_root, "rb") as f:
                self.tls_root = f.read()
        self.user = self.password = None
        if args.auth:
            self.user, _, self.password = args.auth.partition(":")
        self.client = self.new_client()
        # Every call gets a deadline, so a server that never answers (an exchange that waits for
        # the end of input before echoing) fails its check instead of hanging the run.
        self.timeout = args.timeout
        self.options = flight.FlightCallOptions(timeout=self.timeout)
        if self.user is not None:
            header = self.client.authenticate_basic_token(self.user, self.password, self.options)
            self.options = flight.FlightCallOptions(timeout=self.timeout, headers=[header])

    def new_client(self) -> flight.FlightClient:
        kwargs = {}
        if self.tls_root is not None:
            kwargs["tls_root_certs"] = self.tls_root
        return flight.FlightClient(self.location, **kwargs)

    # small helpers every check uses
    def put(self, descriptor: flight.FlightDescriptor, table: pa.Table,
            max_chunksize: int | None = None) -> list[bytes]:
        writer, reader = self.client.do_put(descriptor, table.schema, options=self.options)
        writer.write_table(table, max_chunksize=max_chunksize)
        writer.done_writing()
        acks = []
        while True:
            buf = reader.read()
            if buf is None:
                break
            acks.append(buf.to_pybytes())
        writer.close()
        return acks

    def get(self, key: str) -> pa.Table:
        ticket = flight.Ticket(key.encode("utf-8"))
        return self.client.do_get(ticket, options=self.options).read_all()

    def action(self, kind: str, body: bytes = b"") -> list[bytes]:
        results = self.client.do_action(flight.Action(kind, body), options=self.options)
        return [r.body.to_pybytes() for r in results]


CHECKS: list[tuple[str, Callable[[Session], str]]] = []
NEEDS_AUTH = {"auth"}  # checks that run only when --auth is given


def check(name: str):
    def register(fn: Callable[[Session], str]):
        CHECKS.append((name, fn))
        return fn
    return register


def small_table(tag: str, rows: int = 3) -> pa.Table:
    return pa.table({"id": pa.array(range(rows), type=pa.int64()),
                     "tag": pa.array([f"{tag}-{i}" for i in range(rows)], type=pa.utf8())})


# -- checks, in the order they run ----------------------------------------------------------

@check("auth")
def check_auth(s: Session) -> str:
    plain = flight.FlightCallOptions(timeout=s.timeout)
    with s.new_client() as fresh:
        header = fresh.authenticate_basic_token(s.user, s.password, plain)
        expect(header[0].lower() == b"authorization" and header[1].startswith(b"Bearer "),
               f"authenticate_basic_token returned {header!r}, "
               "want (b'authorization', b'Bearer ...')")
        with_token = flight.FlightCallOptions(timeout=s.timeout, headers=[header])
        names = [a.type for a in fresh.list_actions(options=with_token)]
        expect("echo" in names, f"list_actions with the token returned {names}")
        expect_raises(flight.FlightUnauthenticatedError, "",
                      lambda: fresh.list_actions(options=plain), "list_actions without a token")
        bogus = flight.FlightCallOptions(
            timeout=s.timeout, headers=[(b"authorization", b"Bearer not-a-token")])
        expect_raises(flight.FlightUnauthenticatedError, "",
                      lambda: list(fresh.do_action(flight.Action("echo", b"x"), bogus)),
                      "do_action with a forged bearer token")
        expect_raises(flight.FlightUnauthenticatedError, "",
                      lambda: fresh.authenticate_basic_token(s.user, s.password + "-wrong", plain),
                      "authenticate_basic_token with a wrong password")
    return "basic -> bearer works; no token, forged token and wrong password -> UNAUTHENTICATED"


@check("put_get_types")
def check_put_get_types(s: Session) -> str:
    matrix = type_matrix()
    desc = flight.FlightDescriptor.for_path("interop", "types")
    acks = s.put(desc, matrix, max_chunksize=2)
    expect(acks == [b"batch 0", b"batch 1", b"batch 2"], f"put acks {acks}")
    got = s.get("interop/types")
    expect_equal_tables(got, matrix, "do_get of interop/types vs local matrix")
    expect(s.action("compare", b"interop/types,types") == [b"equal"],
           "server-side compare interop/types,types")
    return f"{matrix.num_columns} columns x {matrix.num_rows} rows in 3 batches round-tripped"


@check("get_types_ticket")
def check_get_types_ticket(s: Session) -> str:
    matrix = type_matrix()
    got = s.get("types")
    expect_equal_tables(got, matrix, "do_get(types) vs local matrix")
    return f"server's matrix equals ours ({got.num_columns} columns)"


@check("put_cmd")
def check_put_cmd(s: Session) -> str:
    table = small_table("cmd", 4)
    desc = flight.FlightDescriptor.for_command(b"interop/cmd")
    acks = s.put(desc, table)
    expect(acks == [b"batch 0"], f"put acks {acks}")
    info = s.client.get_flight_info(desc, options=s.options)
    expect(info.total_records == 4, f"total_records {info.total_records}")
    expect_equal_tables(s.get("interop/cmd"), table, "do_get(interop/cmd)")
    return "CMD descriptor keyed by its UTF-8 command"


@check("put_app_metadata")
def check_put_app_metadata(s: Session) -> str:
    table = small_table("meta", 3)
    batches = table.to_batches(max_chunksize=1)
    writer, reader = s.client.do_put(flight.FlightDescriptor.for_path("interop", "meta"),
                                     table.schema, options=s.options)
    sent = [b"m0", None, b"\x00\xffbinary"]
    acks = []
    for batch, meta in zip(batches, sent, strict=True):
        if meta is None:
            writer.write_batch(batch)
        else:
            writer.write_with_metadata(batch, pa.py_buffer(meta))
        ack = reader.read()  # each PutResult arrives before the next batch is sent
        expect(ack is not None, f"no PutResult after batch {len(acks)}")
        acks.append(ack.to_pybytes())
    writer.done_writing()
    extra = reader.read()
    expect(extra is None, f"unexpected extra PutResult {extra}")
    writer.close()
    expect(acks == [b"m0", b"batch 1", b"\x00\xffbinary"], f"acks {acks}")
    expect_equal_tables(s.get("interop/meta"), table, "do_get(interop/meta)")
    return "app_metadata echoed per batch, `batch <i>` when absent, one PutResult per batch"


@check("flight_info")
def check_flight_info(s: Session) -> str:
    matrix = type_matrix()
    desc = flight.FlightDescriptor.for_path("interop", "info")
    s.put(desc, matrix)
    info = s.client.get_flight_info(desc, options=s.options)
    expect(info.schema.equals(matrix.schema, check_metadata=False),
           "FlightInfo schema differs: "
           f"{first_difference(matrix.schema.empty_table(), info.schema.empty_table())}")
    expect(info.total_records == matrix.num_rows, f"total_records {info.total_records}")
    expect(info.total_bytes == -1, f"total_bytes {info.total_bytes}")
    expect(len(info.endpoints) == 1, f"{len(info.endpoints)} endpoints")
    expect(info.endpoints[0].ticket.ticket == b"interop/info",
           f"endpoint ticket {info.endpoints[0].ticket.ticket!r}")
    expect(list(info.descriptor.path) == [b"interop", b"info"], f"descriptor {info.descriptor}")
    schema = s.client.get_schema(desc, options=s.options).schema
    expect(schema.equals(matrix.schema, check_metadata=False),
           f"GetSchema schema differs: "
           f"{first_difference(matrix.schema.empty_table(), schema.empty_table())}")
    missing = flight.FlightDescriptor.for_path("interop", "no-such-info")
    expect_raises(KeyError, "no such key: interop/no-such-info",
                  lambda: s.client.get_flight_info(missing, options=s.options),
                  "get_flight_info of a missing key")
    expect_raises(KeyError, "no such key: interop/no-such-info",
                  lambda: s.client.get_schema(missing, options=s.options),
                  "get_schema of a missing key")
    return "schema, total_records, endpoint ticket, descriptor; missing -> NOT_FOUND"


@check("list_flights")
def check_list_flights(s: Session) -> str:
    for name in ("b", "a", "c"):
        s.put(flight.FlightDescriptor.for_path("interop", "list", name), small_table(name, 2))
    infos = list(s.client.list_flights(b"interop/list/", options=s.options))
    keys = [listed_key(i) for i in infos]
    expect(keys == ["interop/list/a", "interop/list/b", "interop/list/c"], f"filtered keys {keys}")
    expect(all(i.total_records == 2 for i in infos), "total_records of listed flights")
    expect(all(i.schema.equals(small_table("x").schema) for i in infos),
           "schemas of listed flights")
    every = list(s.client.list_flights(options=s.options))
    all_keys = [listed_key(i) for i in every]
    expect(all_keys == sorted(all_keys), f"unfiltered listing not sorted: {all_keys}")
    expect(set(keys) <= set(all_keys), "unfiltered listing misses the filtered keys")
    return f"prefix filter gives {len(keys)} keys sorted; unfiltered {len(all_keys)} sorted"


@check("get_missing")
def check_get_missing(s: Session) -> str:
    e = expect_raises(KeyError, "no such key: interop/definitely-missing",
                      lambda: s.get("interop/definitely-missing"), "do_get of a missing key")
    return f"{type(e).__name__}: {first_line(e)}"


@check("get_error_mid_stream")
def check_get_error_mid_stream(s: Session) -> str:
    reader = s.client.do_get(flight.Ticket(b"error-mid-stream"), options=s.options)
    rows = 0
    for _ in range(2):
        rows += reader.read_chunk().data.num_rows
    # The contract fixes the message, not the code (pyarrow sends UNKNOWN -> FlightServerError).
    e = expect_raises((flight.FlightError, pa.ArrowException), "boom after 2 batches",
                      reader.read_chunk, "third read of error-mid-stream")
    return f"2 batches ({rows} rows), then {type(e).__name__}: {first_line(e)}"


@check("exchange")
def check_exchange(s: Session) -> str:
    matrix = type_matrix()
    writer, reader = s.client.do_exchange(flight.FlightDescriptor.for_command(b"echo"),
                                          options=s.options)
    writer.begin(matrix.schema)
    echoed = []
    for i, batch in enumerate(matrix.to_batches(max_chunksize=1)):
        meta = f"row {i}".encode()
        if i == 2:
            writer.write_batch(batch)  # no app_metadata: none must come back
        else:
            writer.write_with_metadata(batch, pa.py_buffer(meta))
        chunk = reader.read_chunk()  # blocks until the echo of *this* batch arrives
        expect(chunk.data is not None, f"echo {i} has no data")
        want_meta = None if i == 2 else meta
        got_meta = chunk.app_metadata.to_pybytes() if chunk.app_metadata is not None else None
        expect(got_meta == want_meta, f"echo {i} app_metadata {got_meta!r}, want {want_meta!r}")
        echoed.append(chunk.data)
    writer.write_metadata(pa.py_buffer(b"metadata only"))
    chunk = reader.read_chunk()
    expect(chunk.data is None, "metadata-only message came back with data")
    expect(chunk.app_metadata is not None and chunk.app_metadata.to_pybytes() == b"metadata only",
           f"metadata-only echo {chunk.app_metadata}")
    writer.done_writing()
    rest = []
    while True:
        try:
            rest.append(reader.read_chunk())
        except StopIteration:
            break
    writer.close()
    expect(rest == [], f"{len(rest)} messages after done_writing")
    expect_equal_tables(pa.Table.from_batches(echoed, schema=matrix.schema), matrix,
                        "exchanged batches vs matrix")
    return f"{len(echoed)} batches echoed one by one (lock-step), metadata-only echoed, clean end"


@check("actions")
def check_actions(s: Session) -> str:
    body = b"hello \x00\xff world"
    expect(s.action("echo", body) == [body], "echo of a binary body")
    s.put(flight.FlightDescriptor.for_path("interop", "to-drop"), small_table("drop", 1))
    keys = [k.decode() for k in s.action("list")]
    expect("interop/to-drop" in keys, f"list lacks interop/to-drop: {keys}")
    expect(keys == sorted(keys), f"list not sorted: {keys}")
    expect(s.action("drop", b"interop/to-drop") == [b"dropped"], "drop result")
    expect("interop/to-drop" not in [k.decode() for k in s.action("list")], "key still listed")
    expect_raises(KeyError, "no such key: interop/to-drop", lambda: s.get("interop/to-drop"),
                  "do_get after drop")
    e = expect_raises(pa.ArrowInvalid, "a deliberate error: ünïcode",
                      lambda: s.action("error", "a deliberate error: ünïcode".encode()),
                      "error action")
    # compare: a matrix with one value changed must be reported by column and row.
    matrix = type_matrix()
    col = matrix.schema.get_field_index("utf8")
    changed = matrix.set_column(col, matrix.schema.field(col),
                                pa.array(["hello", "", None, "CHANGED", "x"], type=pa.utf8()))
    s.put(flight.FlightDescriptor.for_path("interop", "types-changed"), changed)
    expect_raises(pa.ArrowInvalid, "column 'utf8' differs at row 3",
                  lambda: s.action("compare", b"types,interop/types-changed"),
                  "compare of differing tables")
    return f"echo/list/drop/compare ok; error -> {type(e).__name__}"


@check("list_actions")
def check_list_actions(s: Session) -> str:
    actions = {a.type: a.description for a in s.client.list_actions(options=s.options)}
    want = {"echo", "list", "drop", "error", "compare"}
    expect(want <= set(actions), f"list_actions gave {sorted(actions)}")
    expect(all(actions[k] for k in want), "an action without a description")
    return f"{len(actions)} actions: {', '.join(sorted(actions))}"


@check("big_get")
def check_big_get(s: Session) -> str:
    reader = s.client.do_get(flight.Ticket(b"big"), options=s.options)
    chunk = reader.read_chunk()
    batch = chunk.data
    expect(batch.num_rows == BIG_ROWS,
           f"first batch has {batch.num_rows} rows, want all {BIG_ROWS} in one")
    expect(batch.column(0).equals(pa.array(range(BIG_ROWS), type=pa.int64())), "values of big")
    return f"one batch of {batch.nbytes / 2**20:.1f} MiB received with default client options"


@check("big_put")
def check_big_put(s: Session) -> str:
    column = pa.array(range(BIG_ROWS, 0, -1), type=pa.int64())
    table = pa.table({"n": column})
    acks = s.put(flight.FlightDescriptor.for_path("interop", "big-put"), table)
    expect(acks == [b"batch 0"], f"acks {acks}")
    got = s.get("interop/big-put")
    expect(got.num_rows == BIG_ROWS, f"{got.num_rows} rows back")
    expect(got.column(0).equals(table.column(0)), "big-put values differ")
    return f"{table.nbytes / 2**20:.1f} MiB in one batch, put and got back"


@check("big_exchange")
def check_big_exchange(s: Session) -> str:
    batch = pa.record_batch([pa.array(range(BIG_ROWS), type=pa.int64())], names=["n"])
    writer, reader = s.client.do_exchange(flight.FlightDescriptor.for_command(b"echo"),
                                          options=s.options)
    writer.begin(batch.schema)
    writer.write_with_metadata(batch, pa.py_buffer(b"big"))
    chunk = reader.read_chunk()
    writer.done_writing()
    writer.close()
    expect(chunk.data.equals(batch), "big exchange echo differs")
    expect(chunk.app_metadata.to_pybytes() == b"big", "big exchange app_metadata")
    return f"{batch.nbytes / 2**20:.1f} MiB batch echoed"


if hasattr(flight.FlightClient, "poll_flight_info"):
    @check("poll_flight_info")
    def check_poll_flight_info(s: Session) -> str:
        desc = flight.FlightDescriptor.for_path("interop", "types")
        poll = s.client.poll_flight_info(desc, options=s.options)
        expect(poll.info.total_records == type_matrix().num_rows, "poll_flight_info total_records")
        return "PollFlightInfo answered"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="pyarrow.flight client checks for an echo store")
    parser.add_argument("--location", help="e.g. grpc://127.0.0.1:PORT or grpc+tls://localhost:PORT")
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--tls-root", metavar="CERT",
                        help="PEM file of the root certificate to trust")
    parser.add_argument("--only", metavar="NAME[,NAME]", help="run only these checks")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="deadline of every call (default 30)")
    parser.add_argument("--list", action="store_true", help="print the check names and exit")
    args = parser.parse_args(argv)
    if args.list:
        return args
    if not args.location:
        parser.error("--location is required")
    if args.auth is not None and ":" not in args.auth:
        parser.error("--auth wants USER:PASSWORD")
    names = [n for n, _ in CHECKS]
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(f"unknown check(s) {unknown}; known: {', '.join(names)}")
        if args.auth is None and NEEDS_AUTH & set(wanted):
            parser.error(f"check(s) {sorted(NEEDS_AUTH & set(wanted))} need --auth")
        args.only = wanted
    return args


def emit(name: str, ok: bool, detail: str, seconds: float) -> None:
    line = {"check": name, "ok": ok, "detail": detail, "seconds": round(seconds, 3)}
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(n for n, _ in CHECKS))
        return 0
    try:
        session = Session(args)
    except Exception as e:
        emit("connect", False, f"{type(e).__name__}: {e}", 0.0)
        return 1
    failed = 0
    for name, fn in CHECKS:
        if args.only and name not in args.only:
            continue
        if name in NEEDS_AUTH and args.auth is None:
            continue
        start = time.monotonic()
        try:
            detail = fn(session)
            emit(name, True, detail, time.monotonic() - start)
        except CheckFailed as e:
            failed += 1
            emit(name, False, str(e), time.monotonic() - start)
        except Exception as e:
            failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            emit(name, False, f"{type(e).__name__} at line {where.lineno}: {e}",
                 time.monotonic() - start)
    session.client.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
