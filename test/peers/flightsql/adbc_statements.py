"""Runs SQL statements through the ADBC Flight SQL driver, each by a route of Flight SQL's:

    python test/peers/flightsql/adbc_statements.py --uri grpc://127.0.0.1:PORT '[["update", "SQL"], ...]'

Routes: "query" (CommandStatementQuery: GetFlightInfo, then DoGet), "update" (DoPut of
CommandStatementUpdate, ADBC's ExecuteUpdate), "prepared_query" and "prepared_update" (a
prepared statement, executed as a query or as an update). Prints one JSON line per statement,
in order: {"route", "sql", "ok": bool, "error": the driver's message or null}. The test that
runs it judges the outcomes.
"""

from __future__ import annotations

import argparse
import json

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa


def run(conn: flight_sql.Connection, route: str, sql: str) -> None:
    statement = adbc_driver_manager.AdbcStatement(conn.adbc_connection)
    try:
        statement.set_sql_query(sql)
        if route.startswith("prepared_"):
            statement.prepare()
        if route.endswith("query"):
            stream, _ = statement.execute_query()
            pa.RecordBatchReader._import_from_c(stream.address).read_all()
        elif route.endswith("update"):
            statement.execute_update()
        else:
            raise ValueError(f"unknown route {route}")
    finally:
        statement.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    parser.add_argument("cells")
    args = parser.parse_args()
    with flight_sql.connect(args.uri, autocommit=True) as conn:
        for route, sql in json.loads(args.cells):
            try:
                run(conn, route, sql)
                print(json.dumps({"route": route, "sql": sql, "ok": True, "error": None}), flush=True)
            except Exception as error:  # noqa: BLE001  (every failure is an outcome to report)
                print(json.dumps({"route": route, "sql": sql, "ok": False, "error": f"{type(error).__name__}: {error}"}), flush=True)


if __name__ == "__main__":
    main()
