"""Table comparison shared by the reference server (`compare` action) and the client checks."""

from __future__ import annotations

import pyarrow as pa


def _scalar_text(scalar: pa.Scalar) -> str:
    try:
        return repr(scalar.as_py())
    except (ValueError, OverflowError):
        # Nanosecond times and timestamps do not fit datetime without pandas: show the raw count.
        return f"{getattr(scalar, 'value', scalar)} ({scalar.type})"


def _comparable(column: pa.ChunkedArray) -> pa.ChunkedArray:
    # Dictionary columns are compared by their decoded values: two peers may lay out the
    # dictionary differently and still carry the same data (the schema check covers the type).
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def first_difference(a: pa.Table, b: pa.Table) -> str | None:
    """None when equal; else a sentence naming the first difference (schema, column, row)."""
    if not a.schema.equals(b.schema, check_metadata=False):
        if a.num_columns != b.num_columns:
            return (f"schemas differ: {a.num_columns} columns vs {b.num_columns} "
                    f"({a.schema.names} vs {b.schema.names})")
        for i, (fa, fb) in enumerate(zip(a.schema, b.schema, strict=True)):
            if not fa.equals(fb, check_metadata=False):
                return (f"schemas differ at column {i}: {fa} (nullable={fa.nullable}) "
                        f"vs {fb} (nullable={fb.nullable})")
        return f"schemas differ: {a.schema} vs {b.schema}"
    if a.num_rows != b.num_rows:
        return f"row counts differ: {a.num_rows} vs {b.num_rows}"
    for name, ca, cb in zip(a.schema.names, a.columns, b.columns, strict=True):
        ca, cb = _comparable(ca), _comparable(cb)
        if ca.equals(cb):
            continue
        for row in range(a.num_rows):
            va, vb = ca[row], cb[row]
            if not va.equals(vb):
                return (f"column {name!r} differs at row {row}: "
                        f"{_scalar_text(va)} vs {_scalar_text(vb)}")
        return f"column {name!r} differs (no single differing row found)"
    return None
