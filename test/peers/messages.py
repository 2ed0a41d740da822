"""pyarrow.flight's own serialization of Flight messages, for the byte-for-byte comparison with
our generated encoders (test/interop/proto-bytes.test.ts).

messages.py serialize       prints one JSON object: message name -> hex of pyarrow's bytes, plus
                            the IPC schema bytes the FlightInfo carries (schema_ipc)
messages.py parse NAME HEX [NAME HEX ...]
                            prints pyarrow's reading of our bytes, one JSON line per message
                            (FlightInfo, Action, FlightDescriptor, Ticket)
"""

import datetime
import json
import sys

import pyarrow as pa
import pyarrow.flight as fl

SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.utf8())],
                   metadata={b"origin": b"proto-bytes"})
EXPIRES = datetime.datetime(2031, 5, 17, 8, 30, 15, 250000, tzinfo=datetime.timezone.utc)


def endpoints():
    return [
        fl.FlightEndpoint(b"ticket-1", ["grpc+tcp://a.example:8815", "grpc+tls://b.example:443"],
                          expiration_time=pa.scalar(EXPIRES, pa.timestamp("ns", "UTC")),
                          app_metadata=b"endpoint-meta"),
        fl.FlightEndpoint(b"ticket-2", []),
    ]


def serialize():
    info = fl.FlightInfo(SCHEMA, fl.FlightDescriptor.for_command(b"SELECT 1"), endpoints(),
                         total_records=1234567890123, total_bytes=-1, ordered=True,
                         app_metadata=b"info-meta")
    out = {
        "schema_ipc": SCHEMA.serialize().to_pybytes(),
        "FlightInfo": info.serialize(),
        "FlightInfo.unknown_totals": fl.FlightInfo(SCHEMA, fl.FlightDescriptor.for_path("a", "b"), [],
                                                   total_records=-1, total_bytes=-1).serialize(),
        "FlightEndpoint": endpoints()[0].serialize(),
        "FlightDescriptor.path": fl.FlightDescriptor.for_path("flights", "2024", "é").serialize(),
        "FlightDescriptor.command": fl.FlightDescriptor.for_command(b"\x00\x01SELECT").serialize(),
        "Ticket": fl.Ticket(b"SELECT * FROM t").serialize(),
        "Action": fl.Action("drop_table", b"t").serialize(),
        "Action.empty_body": fl.Action("list_tables", b"").serialize(),
    }
    print(json.dumps({k: (v.hex() if isinstance(v, bytes) else v) for k, v in out.items()}))


def descriptor_json(d):
    if d.descriptor_type == fl.DescriptorType.PATH:
        return {"path": [p.decode() for p in d.path]}
    return {"cmd": d.command.hex()}


def parse(name, data):
    if name == "FlightInfo":
        info = fl.FlightInfo.deserialize(data)
        out = {
            "schema": str(info.schema),
            "schema_metadata": {k.decode(): v.decode() for k, v in (info.schema.metadata or {}).items()},
            "descriptor": descriptor_json(info.descriptor),
            "total_records": info.total_records,
            "total_bytes": info.total_bytes,
            "ordered": info.ordered,
            "app_metadata": info.app_metadata.hex(),
            "endpoints": [{
                "ticket": e.ticket.ticket.hex(),
                "locations": [str(loc.uri.decode()) for loc in e.locations],
                "expiration_time": None if e.expiration_time is None
                else e.expiration_time.as_py().isoformat(),
                "app_metadata": e.app_metadata.hex(),
            } for e in info.endpoints],
        }
    elif name == "Action":
        action = fl.Action.deserialize(data)
        out = {"type": action.type, "body": action.body.to_pybytes().hex()}
    elif name == "FlightDescriptor":
        out = descriptor_json(fl.FlightDescriptor.deserialize(data))
    elif name == "Ticket":
        out = {"ticket": fl.Ticket.deserialize(data).ticket.hex()}
    else:
        raise SystemExit(f"unknown message {name}")
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1:2] == ["serialize"]:
        serialize()
    elif sys.argv[1:2] == ["parse"] and len(sys.argv) >= 4 and len(sys.argv) % 2 == 0:
        for i in range(2, len(sys.argv), 2):
            parse(sys.argv[i], bytes.fromhex(sys.argv[i + 1]))
    else:
        raise SystemExit(__doc__)
