"""The interop type matrix: one column per Arrow type, five rows, a NULL in every nullable column.

Both the pyarrow peers and the TypeScript tests use this table as the payload that must survive a
round trip unchanged. Column names say the type (`timestamp_ms_new_york`, `list_int32`, ...).

    python test/peers/type_matrix.py                     # print the schema
    python test/peers/type_matrix.py --write-ipc F.arrow  # write it as an Arrow IPC *stream*

Types pyarrow cannot build are absent: interval year_month and day_time have no pyarrow
constructor (only month_day_nano does), so the matrix carries month_day_nano alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import sys

import numpy as np
import pyarrow as pa

ROWS = 5
D = decimal.Decimal


def _col(values, typ):
    return pa.array(values, type=typ)


def _columns() -> list[tuple[str, pa.Array]]:
    """(name, array) pairs, in column order. Every array has ROWS entries."""
    utc = dt.timezone.utc
    base_ts = dt.datetime(2024, 2, 29, 12, 34, 56, 789012)
    cols: list[tuple[str, pa.Array]] = [
        ("int8", _col([-128, 127, None, 0, -1], pa.int8())),
        ("int16", _col([-32768, 32767, None, 0, 1], pa.int16())),
        ("int32", _col([-(2**31), 2**31 - 1, None, 0, 42], pa.int32())),
        ("int64", _col([-(2**63), 2**63 - 1, None, 0, 9007199254740993], pa.int64())),
        ("uint8", _col([0, 255, None, 1, 128], pa.uint8())),
        ("uint16", _col([0, 65535, None, 1, 32768], pa.uint16())),
        ("uint32", _col([0, 2**32 - 1, None, 1, 2**31], pa.uint32())),
        ("uint64", _col([0, 2**64 - 1, None, 1, 2**63], pa.uint64())),
        # pyarrow builds float16 only from numpy's float16.
        ("float16", pa.array(np.array([1.5, -2.0, 0, 65504.0, 0.0009765625], dtype=np.float16),
                             mask=np.array([False, False, True, False, False]))),
        ("float32", _col([1.5, -3.25, None, float("inf"), 3.4028234663852886e38], pa.float32())),
        ("float64", _col([0.1, -1e300, None, float("-inf"), 5e-324], pa.float64())),
        ("decimal128_38_10", _col([D("1234567890123456789012345678.0123456789"),
                                   D("-0.0000000001"), None, D("0E-10"),
                                   D("-9999999999999999999999999999.9999999999")],
                                  pa.decimal128(38, 10))),
        ("decimal128_10_2", _col([D("12345678.90"), D("-0.01"), None, D("0.00"),
                                  D("-99999999.99")], pa.decimal128(10, 2))),
        ("decimal256_40_5", _col([D("12345678901234567890123456789012345.12345"),
                                  D("-0.00001"), None, D("0.00000"),
                                  D("-99999999999999999999999999999999999.99999")],
                                 pa.decimal256(40, 5))),
        ("utf8", _col(["hello", "", None, "ünïcødé ✈ 🦆", "a longer string, past twelve bytes"],
                      pa.utf8())),
        ("large_utf8", _col(["large", "", None, "Ω", "x" * 40], pa.large_utf8())),
        ("binary", _col([b"\x00\x01\x02", b"", None, b"\xff" * 20, b"bin"], pa.binary())),
        ("large_binary", _col([b"L", b"", None, b"\x00" * 13, b"\xde\xad\xbe\xef"],
                              pa.large_binary())),
        ("fixed_size_binary_4", _col([b"abcd", b"\x00\x00\x00\x00", None, b"\xff\xfe\xfd\xfc",
                                      b"wxyz"], pa.binary(4))),
        ("bool", _col([True, False, None, True, False], pa.bool_())),
        ("date32", _col([dt.date(2024, 2, 29), dt.date(1970, 1, 1), None, dt.date(1, 1, 1),
                         dt.date(9999, 12, 31)], pa.date32())),
        ("date64", _col([dt.date(2024, 2, 29), dt.date(1970, 1, 1), None, dt.date(1969, 12, 31),
                         dt.date(2100, 1, 1)], pa.date64())),
        ("time32_s", _col([0, 86399, None, 3600, 45296], pa.time32("s"))),
        ("time32_ms", _col([0, 86399999, None, 1, 45296789], pa.time32("ms"))),
        ("time64_us", _col([0, 86399999999, None, 1, 45296789012], pa.time64("us"))),
        ("time64_ns", _col([0, 86399999999999, None, 1, 45296789012345], pa.time64("ns"))),
        ("timestamp_s", _col([0, 1709210096, None, -1, 253402300799], pa.timestamp("s"))),
        ("timestamp_ms", _col([0, 1709210096789, None, -1, -62135596800000],
                              pa.timestamp("ms"))),
        ("timestamp_us", _col([base_ts, dt.datetime(1970, 1, 1), None,
                               dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
                               dt.datetime(9999, 12, 31, 23, 59, 59, 999999)],
                              pa.timestamp("us"))),
        ("timestamp_ns", _col([0, 1709210096789012345, None, -1, 2**63 - 1],
                              pa.timestamp("ns"))),
        ("timestamp_us_utc", _col([base_ts.replace(tzinfo=utc), dt.datetime(1970, 1, 1, tzinfo=utc),
                                   None, dt.datetime(2000, 1, 1, tzinfo=utc),
                                   dt.datetime(1900, 6, 15, 1, 2, 3, tzinfo=utc)],
                                  pa.timestamp("us", tz="UTC"))),
        # Stored as UTC instants; the zone is schema metadata only.
        ("timestamp_ms_new_york", _col([0, 1709210096789, None, 1710054000000, -1],
                                       pa.timestamp("ms", tz="America/New_York"))),
        ("interval_month_day_nano", _col([pa.MonthDayNano([1, 2, 3]),
                                          pa.MonthDayNano([-1, -15, -1000000000]), None,
                                          pa.MonthDayNano([0, 0, 0]),
                                          pa.MonthDayNano([120, 0, 86399999999999])],
                                         pa.month_day_nano_interval())),
        ("duration_s", _col([0, 1, None, -86400, 2**40], pa.duration("s"))),
        ("duration_ms", _col([0, 1500, None, -1, 2**50], pa.duration("ms"))),
        ("duration_us", _col([0, 1500000, None, -1, 2**60], pa.duration("us"))),
        ("duration_ns", _col([0, 1500000000, None, -(2**63), 2**63 - 1], pa.duration("ns"))),
        ("list_int32", _col([[1, 2, 3], [], None, [None, 7], [2**31 - 1]], pa.list_(pa.int32()))),
        ("large_list_utf8", _col([["a", "bc"], [], None, [None, "d"], ["long string " * 3]],
                                 pa.large_list(pa.utf8()))),
        ("fixed_size_list_float64_3", _col([[1.0, 2.0, 3.0], [0.0, -0.5, 1e10], None,
                                            [None, 1.0, None], [4.0, 5.0, 6.0]],
                                           pa.list_(pa.float64(), 3))),
        ("struct_a_int32_b_utf8", _col([{"a": 1, "b": "one"}, {"a": None, "b": "no a"}, None,
                                        {"a": 3, "b": None}, {"a": -4, "b": ""}],
                                       pa.struct([("a", pa.int32()), ("b", pa.utf8())]))),
        ("map_utf8_int64", _col([[("x", 1), ("y", 2)], [], None, [("z", None)],
                                 [("k", 2**62)]], pa.map_(pa.utf8(), pa.int64()))),
        ("dictionary_int32_utf8", pa.DictionaryArray.from_arrays(
            pa.array([0, 1, None, 0, 2], type=pa.int32()),
            pa.array(["red", "green", "blue"], type=pa.utf8()))),
        ("null", pa.nulls(ROWS, type=pa.null())),
    ]
    return cols


def type_matrix() -> pa.Table:
    """The matrix as a pyarrow Table: all columns nullable except `not_null_int32`."""
    cols = _columns()
    fields = [pa.field(name, arr.type, nullable=True) for name, arr in cols]
    arrays = [arr for _, arr in cols]
    # One non-nullable column, so a round trip that loses field nullability is caught.
    fields.append(pa.field("not_null_int32", pa.int32(), nullable=False))
    arrays.append(pa.array([1, 2, 3, 4, 5], type=pa.int32()))
    for (name, arr) in cols:
        if len(arr) != ROWS:
            raise AssertionError(f"column {name} has {len(arr)} rows, want {ROWS}")
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_ipc_stream(table: pa.Table, path: str) -> None:
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-ipc", metavar="PATH",
                        help="write the matrix as an Arrow IPC stream to PATH")
    args = parser.parse_args(argv)
    table = type_matrix()
    if args.write_ipc:
        write_ipc_stream(table, args.write_ipc)
        print(f"wrote {table.num_rows} rows x {table.num_columns} columns to {args.write_ipc}")
    else:
        print(table.schema)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
