"""The "echo store" Flight server on pyarrow.flight, the reference peer for interop tests.

    python test/peers/reference_server.py --port 0 [--host 127.0.0.1] [--auth USER:PASSWORD]
                                          [--tls-cert CERT --tls-key KEY] [--ignore-stdin]

Prints `LISTENING <port>` on stdout once it accepts calls. Stops on SIGTERM/SIGINT, and when its
stdin reaches EOF (so it dies with the process that spawned it), unless --ignore-stdin is given.
The contract it implements is in test/peers/README.md.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import signal
import sys
import threading

import pyarrow as pa
import pyarrow.flight as flight

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import first_difference  # noqa: E402
from type_matrix import type_matrix  # noqa: E402

BIG_ROWS = 1_500_000  # one int64 column: 12 MB in a single record batch, past gRPC's 4 MiB

ACTIONS = [
    ("echo", "Returns one result whose body is the action body."),
    ("list", "Returns one result per stored key (UTF-8), sorted."),
    ("drop", "Removes the key named by the body; returns one result `dropped`."),
    ("error", "Fails with INVALID_ARGUMENT carrying the body as the message."),
    ("compare", "Body `keyA,keyB`: returns `equal` or fails with INVALID_ARGUMENT naming the "
                "first difference (`types` names the type matrix)."),
]


# Status mapping (see README): pyarrow turns KeyError into NOT_FOUND, ValueError into
# INVALID_ARGUMENT, NotImplementedError into UNIMPLEMENTED and FlightUnauthenticatedError into
# UNAUTHENTICATED. pa.ArrowKeyError is used instead of KeyError so the message is not repr-quoted.
def not_found(message: str) -> Exception:
    return pa.ArrowKeyError(message)


def invalid_argument(message: str) -> Exception:
    return pa.ArrowInvalid(message)


def descriptor_key(descriptor: flight.FlightDescriptor) -> str:
    if descriptor.descriptor_type == flight.DescriptorType.PATH:
        return "/".join(p.decode("utf-8") if isinstance(p, bytes) else p for p in descriptor.path)
    if descriptor.descriptor_type == flight.DescriptorType.CMD:
        return descriptor.command.decode("utf-8")
    raise invalid_argument(f"unsupported descriptor type: {descriptor.descriptor_type}")


class NoOpAuthHandler(flight.ServerAuthHandler):
    """Lets Handshake succeed; authentication itself is done by BasicBearerMiddlewareFactory."""

    def authenticate(self, outgoing, incoming):
        pass

    def is_valid(self, token):
        return ""


class _BearerResponse(flight.ServerMiddleware):
    def __init__(self, token: str | None):
        self.token = token

    def sending_headers(self):
        if self.token is None:
            return {}
        return {"authorization": f"Bearer {self.token}"}


class BasicBearerMiddlewareFactory(flight.ServerMiddlewareFactory):
    """`authorization: Basic ...` with the right user:password -> a new bearer token in the
    response headers; `authorization: Bearer <issued token>` -> allowed; anything else ->
    UNAUTHENTICATED. Applies to every call, Handshake included."""

    def __init__(self, username: str, password: str):
        self.username = username
        self.password = password
        self.tokens: set[str] = set()
        self.lock = threading.Lock()

    def start_call(self, info, headers):
        values = headers.get("authorization") or headers.get("Authorization") or []
        if not values:
            raise flight.FlightUnauthenticatedError("missing authorization header")
        value = values[0]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        scheme, _, credential = value.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            try:
                user, sep, password = base64.b64decode(credential, validate=True) \
                    .decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise flight.FlightUnauthenticatedError("malformed basic credentials") from None
            if not sep or not (secrets.compare_digest(user, self.username)
                               and secrets.compare_digest(password, self.password)):
                raise flight.FlightUnauthenticatedError("invalid username or password")
            token = secrets.token_urlsafe(32)
            with self.lock:
                self.tokens.add(token)
            return _BearerResponse(token)
        if scheme == "bearer":
            with self.lock:
                known = credential in self.tokens
            if not known:
                raise flight.FlightUnauthenticatedError("invalid bearer token")
            return _BearerResponse(None)
        raise flight.FlightUnauthenticatedError(f"unsupported authorization scheme: {scheme}")


class EchoStoreServer(flight.FlightServerBase):
    def __init__(self, location, **kwargs):
        # State first: the base class starts serving inside its __init__.
        self.store: dict[str, tuple[pa.Table, flight.FlightDescriptor]] = {}
        self.lock = threading.Lock()
        self._matrix = type_matrix()
        self._big = pa.table({"n": pa.array(range(BIG_ROWS), type=pa.int64())})  # one chunk
        super().__init__(location, **kwargs)

    # -- store helpers -------------------------------------------------------------------
    def _lookup(self, key: str) -> pa.Table:
        if key == "types":
            return self._matrix
        with self.lock:
            entry = self.store.get(key)
        if entry is None:
            raise not_found(f"no such key: {key}")
        return entry[0]

    def _info(self, key: str, table: pa.Table, descriptor: flight.FlightDescriptor):
        endpoint = flight.FlightEndpoint(key.encode("utf-8"), [])
        return flight.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, -1)

    # -- RPCs ----------------------------------------------------------------------------
    def list_flights(self, context, criteria):
        prefix = criteria.decode("utf-8") if criteria else ""
        with self.lock:
            items = sorted(self.store.items(), key=lambda item: item[0])
        for key, (table, descriptor) in items:
            if key.startswith(prefix):
                yield self._info(key, table, descriptor)

    def get_flight_info(self, context, descriptor):
        key = descriptor_key(descriptor)
        return self._info(key, self._lookup(key), descriptor)

    def get_schema(self, context, descriptor):
        return flight.SchemaResult(self._lookup(descriptor_key(descriptor)).schema)

    def do_put(self, context, descriptor, reader, writer):
        key = descriptor_key(descriptor)
        batches = []
        index = 0
        for chunk in reader:
            if chunk.data is not None:
                batches.append(chunk.data)
            meta = chunk.app_metadata
            writer.write(meta if meta is not None else f"batch {index}".encode())
            index += 1
        table = pa.Table.from_batches(batches, schema=reader.schema)
        with self.lock:
            self.store[key] = (table, descriptor)

    def do_get(self, context, ticket):
        key = ticket.ticket.decode("utf-8")
        if key == "error-mid-stream":
            return flight.GeneratorStream(pa.schema([("n", pa.int64())]), _failing_batches())
        if key == "big":
            return flight.RecordBatchStream(self._big)
        return flight.RecordBatchStream(self._lookup(key))

    def do_exchange(self, context, descriptor, reader, writer):
        started = False
        for chunk in reader:
            if chunk.data is None:
                writer.write_metadata(chunk.app_metadata)
                continue
            if not started:
                writer.begin(chunk.data.schema)
                started = True
            if chunk.app_metadata is not None:
                writer.write_with_metadata(chunk.data, chunk.app_metadata)
            else:
                writer.write_batch(chunk.data)
        if not started:
            # A schema with no batches still comes back as a schema.
            try:
                schema = reader.schema
            except (pa.ArrowException, OSError):
                schema = None  # the client sent no schema at all: nothing to echo
            if schema is not None:
                writer.begin(schema)

    def list_actions(self, context):
        return list(ACTIONS)

    def do_action(self, context, action):
        kind = action.type
        body = action.body.to_pybytes() if action.body is not None else b""
        if kind == "echo":
            return [body]
        if kind == "list":
            with self.lock:
                keys = sorted(self.store)
            return [k.encode("utf-8") for k in keys]
        if kind == "drop":
            key = body.decode("utf-8")
            with self.lock:
                if key not in self.store:
                    raise not_found(f"no such key: {key}")
                del self.store[key]
            return [b"dropped"]
        if kind == "error":
            raise invalid_argument(body.decode("utf-8", "replace"))
        if kind == "compare":
            parts = body.decode("utf-8").split(",")
            if len(parts) != 2:
                raise invalid_argument(f"compare wants `keyA,keyB`, got {body!r}")
            left, right = (self._lookup(p.strip()) for p in parts)
            diff = first_difference(left, right)
            if diff is not None:
                raise invalid_argument(f"{parts[0]} != {parts[1]}: {diff}")
            return [b"equal"]
        raise NotImplementedError(f"unknown action: {kind}")


def _failing_batches():
    for i in range(2):
        yield pa.record_batch([pa.array([i * 2, i * 2 + 1], type=pa.int64())], names=["n"])
    raise flight.FlightServerError("boom after 2 batches")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="pyarrow.flight echo-store reference server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--tls-cert", metavar="FILE")
    parser.add_argument("--tls-key", metavar="FILE")
    parser.add_argument("--ignore-stdin", action="store_true",
                        help="do not stop when stdin closes (for running by hand)")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.auth is not None and ":" not in args.auth:
        parser.error("--auth wants USER:PASSWORD")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum, _frame):
        if stop.is_set():  # a second signal while shutting down: leave at once
            os._exit(1)
        stop.set()

    # Installed before the server starts, so a signal during startup still ends in a clean exit.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    kwargs: dict = {"auth_handler": NoOpAuthHandler()}
    if args.tls_cert:
        try:
            with open(args.tls_cert, "rb") as f:
                cert = f.read()
            with open(args.tls_key, "rb") as f:
                key = f.read()
        except OSError as e:
            sys.stderr.write(f"reference_server: cannot read TLS files: {e}\n")
            return 1
        kwargs["tls_certificates"] = [flight.CertKeyPair(cert, key)]
        location = flight.Location.for_grpc_tls(args.host, args.port)
    else:
        location = flight.Location.for_grpc_tcp(args.host, args.port)
    if args.auth is not None:
        user, _, password = args.auth.partition(":")
        kwargs["middleware"] = {"auth": BasicBearerMiddlewareFactory(user, password)}

    try:
        server = EchoStoreServer(location, **kwargs)  # listening from here on
    except (pa.ArrowException, OSError) as e:
        sys.stderr.write(f"reference_server: cannot serve on {location.uri.decode()}: {e}\n")
        return 1

    if not args.ignore_stdin:
        def watch_stdin():
            while sys.stdin.buffer.read(65536):
                pass
            stop.set()
        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    sys.stdout.write(f"LISTENING {server.port}\n")
    sys.stdout.flush()

    while not stop.wait(0.5):
        pass

    # shutdown() waits for calls in flight; a client stuck mid-stream must not keep us alive.
    done = threading.Event()

    def shut():
        server.shutdown()
        done.set()
    threading.Thread(target=shut, name="shutdown", daemon=True).start()
    if not done.wait(3.0):
        sys.stderr.write("reference_server: calls still in flight after 3 s; exiting anyway\n")
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
