"""The reference peer's server: Mallard's design on pyarrow.flight, one in-memory DuckDB per process.

    python bench/reference/server.py --port 0 [--host localhost] [--batch-rows 65536]
                                     [--put-mode read-all|stream] [--ignore-stdin]

Prints `LISTENING <port>` on stdout once it accepts calls. Stops on SIGTERM/SIGINT, and when its
stdin reaches end-of-file (so it dies with the process that started it) unless --ignore-stdin.

What it serves, as Mallard's servers do:
- DoGet: the ticket is SQL; the result streams as a RecordBatchReader (`relation.arrow()`), batches
  of --batch-rows rows, through flight.RecordBatchStream (C++ pulls it, no Python per batch).
- DoPut: the descriptor (path or command) names a table; the stream is read whole (read-all, as
  Mallard does) or scanned as it arrives (--put-mode stream), then CREATE OR REPLACE TABLE.
- DoExchange: Mallard's streaming exchanger: each batch comes back as soon as it is read, with a
  non-null boolean column `processed`, true on every row.
- DoAction: load_parquet {"table","path"}; transfer {"source","query","table"} (this server pulls
  from `source` with a pyarrow client, then stores like DoPut); query (body: SQL; JSON rows back);
  drop_table (body: a table name); memory (VmHWM/VmRSS; body `reset` resets the peak first).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

# DuckDB scans Arrow tables through Acero, which warns once per batch when a buffer is not 64-byte
# aligned, as buffers received over gRPC often are (Mallard's README shows the warning). "ignore"
# uses them as they are, which is what "warn" does too, minus a line per batch on stderr.
os.environ.setdefault("ACERO_ALIGNMENT_HANDLING", "ignore")

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.flight as flight  # noqa: E402

EXCHANGER = "my_streaming_exchanger"
ACTIONS = [
    ("load_parquet", 'Loads a Parquet file into a table. Body: {"table","path"}.'),
    ("transfer", 'Pulls a query\'s result from another Flight server into a table here. Body: {"source","query","table"}.'),
    ("query", "Runs SQL (body); answers {\"columns\",\"rows\"} (rows as JSON lists)."),
    ("drop_table", "Drops the table named by the body, if it exists."),
    ("memory", "Peak and current RSS of this process in bytes; body `reset` resets the peak first (Linux)."),
]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_name(descriptor: flight.FlightDescriptor) -> str:
    if descriptor.descriptor_type == flight.DescriptorType.PATH and len(descriptor.path) == 1:
        part = descriptor.path[0]
        return part.decode("utf-8") if isinstance(part, bytes) else part
    if descriptor.descriptor_type == flight.DescriptorType.CMD:
        return descriptor.command.decode("utf-8")
    raise pa.ArrowInvalid(f"a table is named by a one-segment path or a command, got {descriptor}")


def proc_status_bytes(field: str) -> int | None:
    """A `kB` field of /proc/self/status (VmHWM, VmRSS) in bytes; None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def json_result(value: object) -> flight.Result:
    return flight.Result(pa.py_buffer(json.dumps(value, default=str).encode("utf-8")))


class ReferenceServer(flight.FlightServerBase):
    def __init__(self, location: str, batch_rows: int, put_mode: str) -> None:
        super().__init__(location)
        self.batch_rows = batch_rows
        self.put_mode = put_mode
        self.database = duckdb.connect(":memory:")
        # Guards cursor creation only; each call then works on a cursor (a connection) of its own.
        self.lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self.lock:
            return self.database.cursor()

    def store(self, table: str, reader: flight.MetadataRecordBatchReader) -> int:
        """CREATE OR REPLACE TABLE from a Flight stream, read whole or scanned as it arrives."""
        cursor = self.cursor()
        try:
            source = reader.read_all() if self.put_mode == "read-all" else reader.to_reader()
            cursor.register("incoming", source)
            try:
                cursor.execute(f"CREATE OR REPLACE TABLE {quote_identifier(table)} AS SELECT * FROM incoming")
            finally:
                cursor.unregister("incoming")
            return int(cursor.execute(f"SELECT count(*) FROM {quote_identifier(table)}").fetchone()[0])
        finally:
            cursor.close()

    # -- Flight methods ----------------------------------------------------------------------

    def do_get(self, context, ticket):
        sql = ticket.ticket.decode("utf-8")
        cursor = self.cursor()
        try:
            reader = cursor.sql(sql).arrow(batch_size=self.batch_rows)
        except duckdb.Error as error:
            cursor.close()
            raise pa.ArrowInvalid(str(error)) from error
        # The reader keeps the cursor's result alive; the cursor itself goes with the reader.
        return flight.RecordBatchStream(reader)

    def do_put(self, context, descriptor, reader, writer):
        table = table_name(descriptor)
        rows = self.store(table, reader)
        writer.write(pa.py_buffer(json.dumps({"table": table, "rows": rows}).encode("utf-8")))

    def do_exchange(self, context, descriptor, reader, writer):
        command = descriptor.command.decode("utf-8") if descriptor.descriptor_type == flight.DescriptorType.CMD else None
        if command != EXCHANGER:
            raise pa.ArrowInvalid(f"unknown exchanger {command!r}; this server has {EXCHANGER}")
        processed = pa.field("processed", pa.bool_(), nullable=False)
        if reader.schema.get_field_index("processed") != -1:
            raise pa.ArrowInvalid('the input already has a column named "processed"')
        writer.begin(reader.schema.append(processed))
        for chunk in reader:
            if chunk.data is None:
                continue
            batch = chunk.data
            flags = pa.repeat(pa.scalar(True, pa.bool_()), batch.num_rows)
            writer.write_batch(batch.append_column(processed, flags))

    def list_actions(self, context):
        return ACTIONS

    def do_action(self, context, action):
        kind = action.type
        body = action.body.to_pybytes() if action.body is not None else b""
        if kind == "load_parquet":
            request = json.loads(body)
            started = time.perf_counter()
            cursor = self.cursor()
            try:
                cursor.execute(
                    f"CREATE OR REPLACE TABLE {quote_identifier(request['table'])} AS "
                    f"SELECT * FROM read_parquet({quote_string(request['path'])})"
                )
                rows = int(cursor.execute(f"SELECT count(*) FROM {quote_identifier(request['table'])}").fetchone()[0])
            finally:
                cursor.close()
            return [json_result({"table": request["table"], "rows": rows, "seconds": time.perf_counter() - started})]
        if kind == "transfer":
            request = json.loads(body)
            client = flight.connect(request["source"])
            try:
                stream = client.do_get(flight.Ticket(request["query"].encode("utf-8")))
                rows = self.store(request["table"], stream)
            finally:
                client.close()
            return [json_result({"table": request["table"], "rows": rows})]
        if kind == "query":
            cursor = self.cursor()
            try:
                cursor.execute(body.decode("utf-8"))
                columns = [d[0] for d in cursor.description] if cursor.description else []
                rows = [list(row) for row in cursor.fetchall()] if cursor.description else []
            except duckdb.Error as error:
                raise pa.ArrowInvalid(str(error)) from error
            finally:
                cursor.close()
            return [json_result({"columns": columns, "rows": rows})]
        if kind == "drop_table":
            cursor = self.cursor()
            try:
                cursor.execute(f"DROP TABLE IF EXISTS {quote_identifier(body.decode('utf-8'))}")
            finally:
                cursor.close()
            return [json_result({"dropped": body.decode("utf-8")})]
        if kind == "memory":
            reset = body == b"reset" and reset_peak_rss()
            return [json_result({"pid": os.getpid(), "peak_rss_bytes": proc_status_bytes("VmHWM"),
                                 "rss_bytes": proc_status_bytes("VmRSS"), "reset": reset})]
        raise NotImplementedError(f"unknown action {kind!r}; actions: {', '.join(a for a, _ in ACTIONS)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--batch-rows", type=int, default=65536, help="rows per record batch of a DoGet")
    parser.add_argument("--put-mode", choices=["read-all", "stream"], default="read-all",
                        help="DoPut and transfer: read the stream whole first (Mallard) or scan it as it arrives")
    parser.add_argument("--ignore-stdin", action="store_true", help="do not stop when stdin reaches end-of-file")
    args = parser.parse_args()
    if args.batch_rows < 1:
        parser.error("--batch-rows must be positive")

    stopping = threading.Event()

    def on_signal(*_: object) -> None:
        if stopping.is_set():
            os._exit(1)  # a second signal: stop waiting for calls in flight
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = ReferenceServer(f"grpc://{args.host}:{args.port}", args.batch_rows, args.put_mode)
    if not args.ignore_stdin:
        def watch_stdin() -> None:
            while sys.stdin.buffer.read(65536):
                pass
            stopping.set()
        threading.Thread(target=watch_stdin, daemon=True).start()

    print(f"LISTENING {server.port}", flush=True)
    # The main thread waits here rather than in serve(), so that Python runs its signal handlers.
    while not stopping.wait(0.5):
        pass
    finished = threading.Event()
    threading.Thread(target=lambda: (server.shutdown(), finished.set()), daemon=True).start()
    if not finished.wait(5.0):
        sys.stderr.write("reference server: calls still running 5 s after the stop; exiting anyway\n")
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
