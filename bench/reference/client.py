"""The reference peer's client: GET, TRANSFER, EXCHANGE and PUT with pyarrow.flight, timed and verified.

Against two running reference servers (bench/reference/server.py), the table already loaded on
server 1, one operation (bench/run.ts calls it this way, once per measured run):

    python bench/reference/client.py --server1 grpc://localhost:P1 --server2 grpc://localhost:P2
                                     --op get [--table flights] [--runs 1] [--checksum-sql SQL]

Or on its own, Mallard style: two servers started here, a Parquet file loaded into server 1, then
every operation:

    python bench/reference/client.py --spawn-servers --parquet data/flights-1000000.parquet [--runs 3]

Prints one JSON line per timed operation on stdout: operation, rows, seconds, bytes, batches,
verification {ok, detail}, the client's and both servers' peak RSS during the operation (bytes;
null off Linux). Progress and errors go to stderr. Exit 1 when a verification failed.

The operations:
- get: DoGet `SELECT * FROM table` from server 1; batches counted and dropped.
- transfer-client: DoGet from server 1 written batch by batch into a DoPut to server 2.
- transfer-direct: the `transfer` action on server 2, which pulls from server 1 itself.
- exchange: DoGet from server 1 streamed into DoExchange (my_streaming_exchanger) on server 1. A
  thread writes every batch and then calls done_writing(); the main thread meanwhile reads every
  batch that comes back, and checks that the count matches and `processed` is true on every row.
- put: the table fetched into this process first (untimed), then a timed DoPut to server 2.
Transfers and puts are verified by row count and an order-independent checksum of the target
table against the source, then the target table is dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = ["get", "transfer-client", "transfer-direct", "exchange", "put"]
LABELS = {
    "get": "GET",
    "transfer-client": "TRANSFER (client)",
    "transfer-direct": "TRANSFER (direct)",
    "exchange": "EXCHANGE",
    "put": "PUT",
}
EXCHANGER = b"my_streaming_exchanger"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def default_checksum_sql(table: str) -> str:
    """Row count and an order-independent hash sum of every row (the same query bench/run.ts sends)."""
    return (
        "SELECT count(*)::BIGINT AS row_count, "
        "(coalesce(sum(hash(*COLUMNS(*))), 0) % 9223372036854775808)::BIGINT AS checksum "
        f"FROM {quote_identifier(table)}"
    )


def proc_status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        pass


class Peer:
    """One reference server: its client and the JSON actions the operations need."""

    def __init__(self, location: str, options: flight.FlightCallOptions) -> None:
        self.location = location
        self.options = options
        self.client = flight.connect(location)

    def action(self, kind: str, body: bytes | str | dict = b"") -> dict:
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        results = list(self.client.do_action(flight.Action(kind, body), options=self.options))
        if not results:
            raise RuntimeError(f"{self.location}: action {kind} answered nothing")
        return json.loads(results[-1].body.to_pybytes())

    def query_row(self, sql: str) -> list:
        rows = self.action("query", sql)["rows"]
        if len(rows) != 1:
            raise RuntimeError(f"{self.location}: expected one row from {sql!r}, got {len(rows)}")
        return rows[0]

    def count(self, table: str) -> int:
        return int(self.query_row(f"SELECT count(*) FROM {quote_identifier(table)}")[0])

    def stats(self, checksum_sql: str) -> tuple[int, str]:
        row_count, checksum = self.query_row(checksum_sql)
        return int(row_count), str(checksum)

    def memory(self, reset: bool = False) -> dict:
        return self.action("memory", "reset" if reset else "")

    def do_get(self, sql: str) -> flight.FlightStreamReader:
        return self.client.do_get(flight.Ticket(sql.encode("utf-8")), options=self.options)

    def close(self) -> None:
        self.client.close()


def verify_copy(source: Peer, target: Peer, checksum_sql: str, reported: int) -> dict:
    source_rows, source_sum = source.stats(checksum_sql)
    target_rows, target_sum = target.stats(checksum_sql)
    if target_rows != source_rows:
        return {"ok": False, "detail": f"target has {target_rows} rows, source {source_rows}"}
    if target_sum != source_sum:
        return {"ok": False, "detail": f"checksum {target_sum} differs from the source's {source_sum}"}
    if reported != source_rows:
        return {"ok": False, "detail": f"{reported} rows reported moved, source has {source_rows}"}
    return {"ok": True, "detail": f"{source_rows} rows, checksum equal"}


class Timed:
    """What one operation measured; the timed span is between start() and stop()."""

    def __init__(self, servers: tuple[Peer, Peer]) -> None:
        self.servers = servers
        self.rows = 0
        self.bytes = 0
        self.batches = 0
        self.seconds = 0.0
        self.memory: dict = {}

    def add(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        self.bytes += batch.nbytes
        self.batches += 1

    def start(self) -> None:
        for peer in self.servers:
            peer.memory(reset=True)
        reset_peak_rss()
        self.started = time.perf_counter()

    def stop(self) -> None:
        self.seconds = time.perf_counter() - self.started
        self.memory = {
            "client_peak_rss_bytes": proc_status_bytes("VmHWM"),
            "server1_peak_rss_bytes": self.servers[0].memory()["peak_rss_bytes"],
            "server2_peak_rss_bytes": self.servers[1].memory()["peak_rss_bytes"],
        }


def op_get(s1: Peer, s2: Peer, table: str, _checksum_sql: str) -> tuple[Timed, dict]:
    timed = Timed((s1, s2))
    timed.start()
    for chunk in s1.do_get(f"SELECT * FROM {quote_identifier(table)}"):
        timed.add(chunk.data)
    timed.stop()
    expected = s1.count(table)
    ok = timed.rows == expected
    return timed, {"ok": ok, "detail": f"{timed.rows} rows = count(*)" if ok else f"received {timed.rows} rows, count(*) is {expected}"}


def put_stream(s2: Peer, table: str, schema: pa.Schema, batches, timed: Timed) -> int:
    """DoPut of `batches` into `table` on s2; returns the rows the server says it stored."""
    writer, metadata = s2.client.do_put(flight.FlightDescriptor.for_path(table), schema, options=s2.options)
    for batch in batches:
        timed.add(batch)
        writer.write_batch(batch)
    writer.done_writing()
    answer = metadata.read()
    writer.close()
    if answer is None:
        raise RuntimeError(f"{s2.location}: the put into {table} answered no PutResult")
    return int(json.loads(answer.to_pybytes())["rows"])


def op_transfer_client(s1: Peer, s2: Peer, table: str, checksum_sql: str) -> tuple[Timed, dict]:
    s2.action("drop_table", table)
    timed = Timed((s1, s2))
    timed.start()
    source = s1.do_get(f"SELECT * FROM {quote_identifier(table)}")
    stored = put_stream(s2, table, source.schema, (chunk.data for chunk in source), timed)
    timed.stop()
    verification = verify_copy(s1, s2, checksum_sql, timed.rows)
    if verification["ok"] and stored != timed.rows:
        verification = {"ok": False, "detail": f"the target says it stored {stored} rows, the client sent {timed.rows}"}
    s2.action("drop_table", table)
    return timed, verification


def op_transfer_direct(s1: Peer, s2: Peer, table: str, checksum_sql: str) -> tuple[Timed, dict]:
    s2.action("drop_table", table)
    timed = Timed((s1, s2))
    timed.start()
    answer = s2.action("transfer", {"source": s1.location, "query": f"SELECT * FROM {quote_identifier(table)}", "table": table})
    timed.stop()
    timed.rows = int(answer["rows"])
    verification = verify_copy(s1, s2, checksum_sql, timed.rows)
    s2.action("drop_table", table)
    return timed, verification


def op_exchange(s1: Peer, s2: Peer, table: str, _checksum_sql: str) -> tuple[Timed, dict]:
    timed = Timed((s1, s2))
    not_processed = 0
    output_names: list[str] | None = None
    timed.start()
    source = s1.do_get(f"SELECT * FROM {quote_identifier(table)}")
    input_names = list(source.schema.names)
    writer, reader = s1.client.do_exchange(flight.FlightDescriptor.for_command(EXCHANGER), options=s1.options)
    writer.begin(source.schema)
    failure: list[BaseException] = []

    def feed() -> None:
        try:
            for chunk in source:
                writer.write_batch(chunk.data)
            writer.done_writing()
        except BaseException as error:  # reported by the main thread after the join
            failure.append(error)
            reader.cancel()  # or the main thread would wait for answers to input that never came

    feeder = threading.Thread(target=feed, name="exchange-writer")
    feeder.start()
    try:
        for chunk in reader:
            batch = chunk.data
            if batch is None:
                continue
            output_names = output_names or list(batch.schema.names)
            timed.add(batch)
            processed = batch.column("processed") if "processed" in batch.schema.names else None
            if processed is None or processed.type != pa.bool_() or processed.null_count != 0 or not pc.all(processed).as_py():
                not_processed += batch.num_rows
    except BaseException:
        reader.cancel()  # unblocks the writer thread, whose writes then fail
        feeder.join()
        if failure:
            raise failure[0]
        raise
    feeder.join()
    if failure:
        raise failure[0]
    writer.close()
    timed.stop()
    expected = s1.count(table)
    wanted = input_names + ["processed"]
    if timed.rows != expected:
        verification = {"ok": False, "detail": f"received {timed.rows} rows, count(*) is {expected}"}
    elif not_processed:
        verification = {"ok": False, "detail": f"{not_processed} rows in batches without processed = true on every row"}
    elif (output_names or []) != wanted:
        verification = {"ok": False, "detail": f"output columns {','.join(output_names or [])}, expected {','.join(wanted)}"}
    else:
        verification = {"ok": True, "detail": f"{timed.rows} rows = count(*), processed all true"}
    return timed, verification


def op_put(s1: Peer, s2: Peer, table: str, checksum_sql: str) -> tuple[Timed, dict]:
    s2.action("drop_table", table)
    source = s1.do_get(f"SELECT * FROM {quote_identifier(table)}")
    schema = source.schema
    held = [chunk.data for chunk in source]  # untimed: the data starts in this process
    timed = Timed((s1, s2))
    timed.start()
    stored = put_stream(s2, table, schema, held, timed)
    timed.stop()
    verification = verify_copy(s1, s2, checksum_sql, timed.rows)
    if verification["ok"] and stored != timed.rows:
        verification = {"ok": False, "detail": f"the target says it stored {stored} rows, the client sent {timed.rows}"}
    s2.action("drop_table", table)
    return timed, verification


OPERATIONS = {
    "get": op_get,
    "transfer-client": op_transfer_client,
    "transfer-direct": op_transfer_direct,
    "exchange": op_exchange,
    "put": op_put,
}


def run(op: str, s1: Peer, s2: Peer, table: str, checksum_sql: str) -> dict:
    timed, verification = OPERATIONS[op](s1, s2, table, checksum_sql)
    return {
        "op": op,
        "operation": LABELS[op],
        "rows": timed.rows,
        "seconds": timed.seconds,
        "bytes": timed.bytes if op != "transfer-direct" else None,
        "batches": timed.batches,
        "verification": verification,
        **timed.memory,
    }


def spawn_server(name: str, batch_rows: int, put_mode: str) -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--port", "0", "--batch-rows", str(batch_rows), "--put-mode", put_mode],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    line = child.stdout.readline()
    if not line.startswith("LISTENING "):
        child.kill()
        raise RuntimeError(f"{name} did not start (it said {line!r})")
    return child, f"grpc://localhost:{int(line.split()[1])}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server1", help="location of server 1 (the source), e.g. grpc://localhost:8815")
    parser.add_argument("--server2", help="location of server 2 (the target of transfers and puts)")
    parser.add_argument("--spawn-servers", action="store_true", help="start two reference servers here instead")
    parser.add_argument("--parquet", help="with --spawn-servers: the file loaded into server 1")
    parser.add_argument("--batch-rows", type=int, default=65536, help="with --spawn-servers: the servers' DoGet batch rows")
    parser.add_argument("--put-mode", choices=["read-all", "stream"], default="read-all", help="with --spawn-servers")
    parser.add_argument("--op", action="append", choices=OPS, help="an operation (repeatable); default all")
    parser.add_argument("--table", default="flights")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--checksum-sql", help="the row count and checksum query for the table (default: the count and hash sum bench/run.ts uses)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds any one call may take")
    args = parser.parse_args()
    if args.spawn_servers == bool(args.server1 or args.server2):
        parser.error("give --server1 and --server2, or --spawn-servers (with --parquet)")
    if args.spawn_servers and not args.parquet:
        parser.error("--spawn-servers needs --parquet")
    if not args.spawn_servers and not (args.server1 and args.server2):
        parser.error("give both --server1 and --server2")
    if args.runs < 1:
        parser.error("--runs must be positive")

    children: list[subprocess.Popen] = []
    try:
        if args.spawn_servers:
            locations = []
            for name in ("server 1", "server 2"):
                child, location = spawn_server(name, args.batch_rows, args.put_mode)
                children.append(child)
                locations.append(location)
                print(f"{name}: {location} (pid {child.pid})", file=sys.stderr)
        else:
            locations = [args.server1, args.server2]
        options = flight.FlightCallOptions(timeout=args.timeout)
        s1, s2 = Peer(locations[0], options), Peer(locations[1], options)
        if args.spawn_servers:
            loaded = s1.action("load_parquet", {"table": args.table, "path": os.path.abspath(args.parquet)})
            print(f"loaded {loaded['rows']:,} rows into {args.table} on server 1 in {loaded['seconds']:.2f} s", file=sys.stderr)
        checksum_sql = args.checksum_sql or default_checksum_sql(args.table)
        all_ok = True
        for op in args.op or OPS:
            for _ in range(args.runs):
                result = run(op, s1, s2, args.table, checksum_sql)
                all_ok = all_ok and result["verification"]["ok"]
                print(json.dumps(result), flush=True)
                rate = result["rows"] / result["seconds"] if result["seconds"] > 0 else float("nan")
                print(f"{result['operation']}: {result['rows']:,} rows in {result['seconds']:.3f} s ({rate:,.0f} rows/s); "
                      f"{'verified' if result['verification']['ok'] else 'FAILED'}: {result['verification']['detail']}", file=sys.stderr)
        s1.close()
        s2.close()
        return 0 if all_ok else 1
    finally:
        for child in children:
            child.stdin.close()  # the server stops at end-of-file on stdin
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


if __name__ == "__main__":
    sys.exit(main())
