// Scripted checks of a Flight SQL server through arrow-go's flightsql client. Each check prints
// one JSON line, {"check": name, "result": {...}} with what the client observed, or
// {"check": name, "error": "..."}; test/flightsql/go.test.ts decides what is right. The checks
// share one database and run in order (later ones read tables earlier ones made).
//
//	flightsql-checks -addr 127.0.0.1:PORT
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

type result = map[string]any

var (
	ctx   context.Context
	cl    *flightsql.Client
	alloc = memory.DefaultAllocator
)

// rows redeems the one endpoint of info and returns its schema and every row as JSON values.
func rows(info *flight.FlightInfo) (*arrow.Schema, [][]any, error) {
	if len(info.Endpoint) != 1 {
		return nil, nil, fmt.Errorf("%d endpoints", len(info.Endpoint))
	}
	rdr, err := cl.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		return nil, nil, err
	}
	defer rdr.Release()
	var out [][]any
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			row := make([]any, rec.NumCols())
			for c := range row {
				col := rec.Column(c)
				if col.IsNull(r) {
					continue
				}
				row[c] = col.GetOneForMarshal(r)
			}
			out = append(out, row)
		}
	}
	return rdr.Schema(), out, rdr.Err()
}

func query(sql string) (*arrow.Schema, [][]any, error) {
	info, err := cl.Execute(ctx, sql)
	if err != nil {
		return nil, nil, err
	}
	return rows(info)
}

func types(schema *arrow.Schema) []string {
	out := make([]string, len(schema.Fields()))
	for i, f := range schema.Fields() {
		out[i] = f.Type.String()
	}
	return out
}

// metadata is what flightsql.ColumnMetadata reads from a field, unset values left out.
func metadata(f arrow.Field) result {
	md := flightsql.ColumnMetadata{Data: &f.Metadata}
	out := result{"nullable": f.Nullable}
	if v, ok := md.TypeName(); ok {
		out["type_name"] = v
	}
	if v, ok := md.Precision(); ok {
		out["precision"] = v
	}
	if v, ok := md.Scale(); ok {
		out["scale"] = v
	}
	if v, ok := md.CatalogName(); ok {
		out["catalog"] = v
	}
	if v, ok := md.SchemaName(); ok {
		out["schema"] = v
	}
	if v, ok := md.TableName(); ok {
		out["table"] = v
	}
	if v, ok := md.IsAutoIncrement(); ok {
		out["auto_increment"] = v
	}
	if v, ok := md.IsCaseSensitive(); ok {
		out["case_sensitive"] = v
	}
	if v, ok := md.IsReadOnly(); ok {
		out["read_only"] = v
	}
	if v, ok := md.IsSearchable(); ok {
		out["searchable"] = v
	}
	return out
}

func int32Batch(name string, values ...int32) arrow.RecordBatch {
	b := array.NewInt32Builder(alloc)
	defer b.Release()
	b.AppendValues(values, nil)
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(values)))
}

var checks = []struct {
	name string
	run  func() (result, error)
}{
	{"execute", func() (result, error) {
		schema, data, err := query("SELECT range AS i, 'v' || range AS s FROM range(3)")
		if err != nil {
			return nil, err
		}
		return result{"types": types(schema), "rows": data}, nil
	}},
	{"execute_update", func() (result, error) {
		out := result{}
		for _, step := range []struct{ key, sql string }{
			{"create", "CREATE TABLE go_t (id INTEGER NOT NULL, price DECIMAL(10,2), name VARCHAR)"},
			{"insert", "INSERT INTO go_t VALUES (1, 1.50, 'a'), (2, 2.25, 'b'), (3, 3.00, 'c')"},
			{"update", "UPDATE go_t SET name = upper(name) WHERE id >= 2"},
			{"delete", "DELETE FROM go_t WHERE id = 1"},
		} {
			n, err := cl.ExecuteUpdate(ctx, step.sql)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", step.key, err)
			}
			out[step.key] = n
		}
		return out, nil
	}},
	{"status_table", func() (result, error) {
		// What a query call gets for a statement without rows: the status table, plain strings.
		schema, data, err := query("CREATE TABLE go_status (i INTEGER)")
		if err != nil {
			return nil, err
		}
		return result{"types": types(schema), "rows": data}, nil
	}},
	{"prepared_query", func() (result, error) {
		prep, err := cl.Prepare(ctx, "SELECT id, name FROM go_t WHERE id >= ? ORDER BY id")
		if err != nil {
			return nil, err
		}
		defer prep.Close(ctx)
		params := int32Batch("min", 3)
		defer params.Release()
		prep.SetParameters(params)
		info, err := prep.Execute(ctx)
		if err != nil {
			return nil, err
		}
		_, data, err := rows(info)
		if err != nil {
			return nil, err
		}
		isUpdate, hinted := prep.IsUpdate()
		return result{"dataset_fields": len(prep.DatasetSchema().Fields()), "is_update": isUpdate, "hinted": hinted, "rows": data}, nil
	}},
	{"prepared_update", func() (result, error) {
		prep, err := cl.Prepare(ctx, "INSERT INTO go_t (id, name) VALUES (?, 'prepared')")
		if err != nil {
			return nil, err
		}
		defer prep.Close(ctx)
		params := int32Batch("id", 10, 11)
		defer params.Release()
		prep.SetParameters(params)
		n, err := prep.ExecuteUpdate(ctx)
		if err != nil {
			return nil, err
		}
		isUpdate, hinted := prep.IsUpdate()
		fields := -1
		if s := prep.DatasetSchema(); s != nil {
			fields = len(s.Fields())
		}
		return result{"dataset_fields": fields, "is_update": isUpdate, "hinted": hinted, "count": n}, nil
	}},
	{"column_metadata", func() (result, error) {
		info, err := cl.Execute(ctx, "SELECT * FROM go_t")
		if err != nil {
			return nil, err
		}
		schema, err := flight.DeserializeSchema(info.Schema, alloc)
		if err != nil {
			return nil, err
		}
		columns := result{}
		for _, f := range schema.Fields() {
			columns[f.Name] = metadata(f)
		}
		streamed, _, err := rows(info)
		if err != nil {
			return nil, err
		}
		same := schema.Equal(streamed) && fmt.Sprint(schema.Fields()) == fmt.Sprint(streamed.Fields())
		computed, err := cl.Execute(ctx, "SELECT 1.5::DECIMAL(12,3) AS d")
		if err != nil {
			return nil, err
		}
		computedSchema, err := flight.DeserializeSchema(computed.Schema, alloc)
		if err != nil {
			return nil, err
		}
		return result{"table_scan": columns, "streamed_same": same, "computed": metadata(computedSchema.Field(0)), "total_records": info.TotalRecords, "computed_total_records": computed.TotalRecords}, nil
	}},
	{"get_tables", func() (result, error) {
		pattern := "go\\_%"
		info, err := cl.GetTables(ctx, &flightsql.GetTablesOpts{TableNameFilterPattern: &pattern, IncludeSchema: true})
		if err != nil {
			return nil, err
		}
		_, data, err := rows(info)
		if err != nil {
			return nil, err
		}
		var names []any
		for _, row := range data {
			names = append(names, row[2])
		}
		return result{"tables": names}, nil
	}},
	{"ingest", func() (result, error) {
		// A TIMESTAMPTZ column in UTC and a BIGINT, created by the ingest, then read back.
		ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		schema := arrow.NewSchema([]arrow.Field{{Name: "happened", Type: ts, Nullable: true}, {Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
		b := array.NewRecordBuilder(alloc, schema)
		defer b.Release()
		b.Field(0).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1_700_000_000_000_000, 1_700_000_001_000_000}, nil)
		b.Field(1).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
		rec := b.NewRecordBatch()
		defer rec.Release()
		rdr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
		if err != nil {
			return nil, err
		}
		defer rdr.Release()
		n, err := cl.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{
			TableDefinitionOptions: &flightsql.TableDefinitionOptions{
				IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionCreate,
				IfExists:   flightsql.TableDefinitionOptionsTableExistsOptionAppend,
			},
			Table: "go_ingest",
		})
		if err != nil {
			return nil, err
		}
		back, data, err := query("SELECT happened, n FROM go_ingest ORDER BY n")
		if err != nil {
			return nil, err
		}
		return result{"count": n, "types": types(back), "rows": data}, nil
	}},
}

func main() {
	addr := flag.String("addr", "", "host:port of the Flight SQL server")
	only := flag.String("only", "", "run this check alone")
	list := flag.Bool("list", false, "print the check names and exit")
	flag.Parse()
	if *list {
		for _, c := range checks {
			fmt.Println(c.name)
		}
		return
	}
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "usage: flightsql-checks -addr HOST:PORT [-only NAME]")
		os.Exit(2)
	}
	var cancel context.CancelFunc
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	cl, err = flightsql.NewClient(*addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer cl.Close()
	out := json.NewEncoder(os.Stdout)
	for _, c := range checks {
		if *only != "" && c.name != *only {
			continue
		}
		res, err := c.run()
		line := result{"check": c.name}
		if err != nil {
			line["error"] = err.Error()
		} else {
			line["result"] = res
		}
		if err := out.Encode(line); err != nil {
			fmt.Fprintln(os.Stderr, "encode:", err)
			os.Exit(1)
		}
	}
}
