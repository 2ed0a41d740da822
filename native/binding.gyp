{
  # DUCKDB_LIB_DIR is the folder of the libduckdb.so that @duckdb/node-bindings ships; build.mjs
  # resolves it and sets it, so nothing here names this machine's paths.
  "targets": [
    {
      "target_name": "duck_flight_native",
      "sources": [
        "src/addon.cc",
        "src/napi_util.cc",
        "src/shared_connection.cc",
        "src/export_stream.cc",
        "src/chunk_arrow.cc",
        "src/ipc_writer.cc",
        "src/import_stream.cc"
      ],
      "include_dirs": ["include"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O2", "-fno-exceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-rtti", "-std=gnu++17"],
      "libraries": [
        "-L<!(node -p \"process.env.DUCKDB_LIB_DIR\")",
        "-lduckdb",
        "-Wl,-rpath,<!(node -p \"process.env.DUCKDB_LIB_DIR\")"
      ],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O2"]
      }
    }
  ]
}
