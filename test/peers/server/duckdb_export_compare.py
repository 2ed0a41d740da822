"""What pyarrow reads from duck-flight (DoGet of a SQL ticket) against what the duckdb Python
package's own Arrow export gives for the same query: schema (types, nullability, metadata) and
values, exactly. And the other way: that export uploaded by DoPut into duck-flight (as table
rt_<i>) and read back, against DuckDB's own Arrow import of it read back.

    python test/peers/server/duckdb_export_compare.py --location grpc://127.0.0.1:PORT --cases CASES.json
        [--timeout SECONDS]

CASES.json: {"setup": ["SQL", ...], "cases": [{"name": "...", "query": "SELECT ..."}, ...]}. The
setup statements run in a fresh in-memory duckdb here (the caller runs them on the server).
Prints one JSON line per case: {"name", "equal", "schema_equal", "metadata_equal", "ours",
"duckdb", "difference", "ours_invalid", "duckdb_invalid"}; "ours"/"duckdb" are the schemas as
text, the *_invalid fields pyarrow's full validation message of each table (null when valid);
"put_equal", "put_difference", "put_ours", "put_duckdb" the same for the upload direction. Exits 0 when it could compare
every case (whether equal or not), 1 when a case could not be run at all.
"""

from __future__ import annotations

import argparse
import json
import sys

import duckdb
import pyarrow as pa
import pyarrow.flight as flight


def as_table(result) -> pa.Table:
    # duckdb 1.5: .arrow() returns a RecordBatchReader; older releases returned a Table.
    return result.read_all() if isinstance(result, pa.RecordBatchReader) else result


def exact(a: pa.Array, b: pa.Array) -> bool:
    """Array equality where floats compare by their bits (NaN equals NaN, -0.0 differs from 0.0)."""
    if a.type != b.type:
        return False
    if pa.types.is_floating(a.type) and a.type.bit_width in (32, 64):
        bits = pa.int32() if a.type.bit_width == 32 else pa.int64()
        if not a.is_null().equals(b.is_null()):
            return False
        return a.fill_null(0).view(bits).equals(b.fill_null(0).view(bits))
    return a.equals(b)


def invalid(table: pa.Table) -> str | None:
    """pyarrow's full validation of a table: None when valid, else its message."""
    try:
        table.validate(full=True)
    except pa.ArrowInvalid as e:
        return str(e)
    return None


def show(scalar: pa.Scalar) -> str:
    try:
        return repr(scalar.as_py())
    except (ValueError, OverflowError, ArithmeticError) as e:
        return f"<{scalar.type} not convertible: {e}>"


def difference(ours: pa.Table, theirs: pa.Table) -> str | None:
    """None when equal (schema with metadata, values by bits); else the first difference."""
    if ours.num_columns != theirs.num_columns:
        return f"{ours.num_columns} columns vs duckdb's {theirs.num_columns}"
    for i, (fo, ft) in enumerate(zip(ours.schema, theirs.schema)):
        if not fo.equals(ft, check_metadata=True):
            return (f"field {i}: ours {fo} (nullable={fo.nullable}, metadata={fo.metadata}) vs duckdb's "
                    f"{ft} (nullable={ft.nullable}, metadata={ft.metadata})")
    if ours.schema.metadata != theirs.schema.metadata:
        return f"schema metadata: ours {ours.schema.metadata} vs duckdb's {theirs.schema.metadata}"
    if ours.num_rows != theirs.num_rows:
        return f"{ours.num_rows} rows vs duckdb's {theirs.num_rows}"
    for name, co, ct in zip(ours.column_names, ours.columns, theirs.columns):
        a, b = co.combine_chunks(), ct.combine_chunks()
        if exact(a, b):
            continue
        if pa.types.is_dictionary(a.type) and not a.dictionary.equals(b.dictionary):
            return f"column {name!r}: dictionary ours {a.dictionary.to_pylist()} vs duckdb's {b.dictionary.to_pylist()}"
        for row in range(len(a)):
            if not exact(a.slice(row, 1), b.slice(row, 1)):
                return f"column {name!r} row {row}: ours {show(a[row])} vs duckdb's {show(b[row])}"
        return f"column {name!r}: arrays differ though no single row does (layout: ours {a.to_string()[:200]})"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--location", required=True)
    parser.add_argument("--cases", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    with open(args.cases, encoding="utf-8") as f:
        spec = json.load(f)
    con = duckdb.connect()
    # duck-flight sets DuckDB's TimeZone to UTC (it would otherwise be the host's, e.g. Etc/UTC),
    # and TIMESTAMPTZ columns are typed with it: the reference export uses the same setting.
    con.execute("SET TimeZone = 'UTC'")
    for statement in spec["setup"]:
        con.execute(statement)
    client = flight.FlightClient(args.location)
    options = flight.FlightCallOptions(timeout=args.timeout)
    broken = False
    for index, case in enumerate(spec["cases"]):
        line = {"name": case["name"]}
        try:
            ours = client.do_get(flight.Ticket(case["query"].encode("utf-8")), options=options).read_all()
            theirs = as_table(con.sql(case["query"]).arrow())
            diff = difference(ours, theirs)
            # The other way: DuckDB's export uploaded by pyarrow's DoPut into our server and read
            # back, against DuckDB's own import of the same Arrow table read back.
            table = f"rt_{index}"
            writer, _ = client.do_put(flight.FlightDescriptor.for_path(table), theirs.schema, options=options)
            writer.write_table(theirs)
            writer.close()
            order = " ORDER BY k" if "k" in theirs.column_names else ""
            ours_back = client.do_get(flight.Ticket(f'SELECT * FROM "{table}"{order}'.encode("utf-8")), options=options).read_all()
            con.register("uploaded", theirs)
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM uploaded')
            con.unregister("uploaded")
            duckdb_back = as_table(con.sql(f'SELECT * FROM "{table}"{order}').arrow())
            put_diff = difference(ours_back, duckdb_back)
            line.update(
                put_equal=put_diff is None,
                put_difference=put_diff,
                put_ours=str(ours_back.schema),
                put_duckdb=str(duckdb_back.schema),
            )
            line.update(
                equal=diff is None,
                schema_equal=ours.schema.equals(theirs.schema, check_metadata=False),
                metadata_equal=ours.schema.equals(theirs.schema, check_metadata=True),
                ours=str(ours.schema),
                duckdb=str(theirs.schema),
                difference=diff,
                ours_invalid=invalid(ours),
                duckdb_invalid=invalid(theirs),
            )
        except Exception as e:  # reported per case: which one could not be compared, and why
            broken = True
            line.update(equal=False, error=f"{type(e).__name__}: {e}")
        print(json.dumps(line), flush=True)
    client.close()
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
