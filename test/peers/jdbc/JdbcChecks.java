// Scripted checks of a Flight SQL server through the Arrow Flight SQL JDBC driver. Each check
// prints one JSON line, {"check": name, "result": {...}} with what JDBC reported, or
// {"check": name, "error": "..."}; test/flightsql/jdbc.test.ts decides what is right. The checks
// share one connection and run in order (later ones read tables earlier ones made).
//
//   java -cp flight-sql-jdbc-driver.jar:classes JdbcChecks jdbc:arrow-flight-sql://HOST:PORT/?useEncryption=false

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class JdbcChecks {
  interface Check {
    Object run(Connection connection) throws SQLException;
  }

  private static final Map<String, Check> CHECKS = new LinkedHashMap<>();

  static {
    CHECKS.put("connect", c -> {
      DatabaseMetaData meta = c.getMetaData();
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("product", meta.getDatabaseProductName());
      out.put("read_only", meta.isReadOnly());
      return out;
    });
    CHECKS.put("execute_query", c -> {
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT range AS i, 'v' || range AS s FROM range(3)")) {
        return rows(rs);
      }
    });
    CHECKS.put("execute_update", c -> {
      Map<String, Object> out = new LinkedHashMap<>();
      try (Statement s = c.createStatement()) {
        out.put("create", s.executeUpdate("CREATE TABLE jdbc_t (id INTEGER NOT NULL, price DECIMAL(10,2), name VARCHAR)"));
        out.put("insert", s.executeUpdate("INSERT INTO jdbc_t VALUES (1, 1.50, 'a'), (2, 2.25, 'b'), (3, 3.00, 'c')"));
        out.put("update", s.executeUpdate("UPDATE jdbc_t SET name = upper(name) WHERE id >= 2"));
        out.put("delete", s.executeUpdate("DELETE FROM jdbc_t WHERE id = 1"));
      }
      return out;
    });
    CHECKS.put("prepared_query", c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT id, name FROM jdbc_t WHERE id >= ? ORDER BY id")) {
        p.setInt(1, 3);
        try (ResultSet rs = p.executeQuery()) {
          return rows(rs);
        }
      }
    });
    CHECKS.put("prepared_update", c -> {
      Map<String, Object> out = new LinkedHashMap<>();
      try (PreparedStatement p = c.prepareStatement("INSERT INTO jdbc_t (id, price, name) VALUES (?, 9.99, ?)")) {
        p.setInt(1, 10);
        p.setString(2, "ten");
        out.put("insert", p.executeUpdate());
      }
      try (PreparedStatement p = c.prepareStatement("UPDATE jdbc_t SET price = price + 1 WHERE id >= ?")) {
        p.setInt(1, 3);
        out.put("update", p.executeUpdate());
      }
      try (PreparedStatement p = c.prepareStatement("DELETE FROM jdbc_t WHERE id = ?")) {
        p.setInt(1, 10);
        out.put("delete", p.executeUpdate());
      }
      return out;
    });
    CHECKS.put("result_metadata", c -> {
      Map<String, Object> out = new LinkedHashMap<>();
      try (Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT * FROM jdbc_t")) {
          out.put("table_scan", columns(rs.getMetaData()));
        }
        try (ResultSet rs = s.executeQuery("SELECT CAST(12.5 AS DECIMAL(10,2)) AS d, 'x' AS v")) {
          out.put("computed", columns(rs.getMetaData()));
        }
      }
      try (PreparedStatement p = c.prepareStatement("SELECT price FROM jdbc_t WHERE id = ?")) {
        out.put("prepared", columns(p.getMetaData()));
      }
      return out;
    });
    CHECKS.put("database_metadata", c -> {
      DatabaseMetaData meta = c.getMetaData();
      Map<String, Object> out = new LinkedHashMap<>();
      List<Object> tables = new ArrayList<>();
      try (ResultSet rs = meta.getTables(null, null, "jdbc%", null)) {
        while (rs.next()) tables.add(List.of(rs.getString("TABLE_SCHEM"), rs.getString("TABLE_NAME"), rs.getString("TABLE_TYPE")));
      }
      out.put("tables", tables);
      List<Object> columns = new ArrayList<>();
      try (ResultSet rs = meta.getColumns(null, null, "jdbc_t", null)) {
        while (rs.next()) {
          Map<String, Object> column = new LinkedHashMap<>();
          column.put("name", rs.getString("COLUMN_NAME"));
          column.put("type_name", rs.getString("TYPE_NAME"));
          column.put("column_size", rs.getObject("COLUMN_SIZE"));
          column.put("decimal_digits", rs.getObject("DECIMAL_DIGITS"));
          column.put("nullable", rs.getInt("NULLABLE"));
          columns.add(column);
        }
      }
      out.put("columns", columns);
      return out;
    });
  }

  private static List<Object> rows(ResultSet rs) throws SQLException {
    List<Object> out = new ArrayList<>();
    int n = rs.getMetaData().getColumnCount();
    while (rs.next()) {
      List<Object> row = new ArrayList<>();
      for (int i = 1; i <= n; i++) row.add(rs.getObject(i));
      out.add(row);
    }
    return out;
  }

  private static Map<String, Object> columns(ResultSetMetaData md) throws SQLException {
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = 1; i <= md.getColumnCount(); i++) {
      Map<String, Object> column = new LinkedHashMap<>();
      column.put("type_name", md.getColumnTypeName(i));
      column.put("precision", md.getPrecision(i));
      column.put("scale", md.getScale(i));
      column.put("table", md.getTableName(i));
      column.put("schema", md.getSchemaName(i));
      column.put("catalog", md.getCatalogName(i));
      column.put("nullable", md.isNullable(i));
      column.put("auto_increment", md.isAutoIncrement(i));
      column.put("case_sensitive", md.isCaseSensitive(i));
      column.put("read_only", md.isReadOnly(i));
      column.put("searchable", md.isSearchable(i));
      out.put(md.getColumnName(i), column);
    }
    return out;
  }

  private static String json(Object value) {
    if (value == null) return "null";
    if (value instanceof Boolean || value instanceof Integer || value instanceof Long || value instanceof Short) return value.toString();
    if (value instanceof Number) return "\"" + value + "\""; // decimals and doubles as text: exact
    if (value instanceof Map) {
      StringBuilder b = new StringBuilder("{");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        if (b.length() > 1) b.append(',');
        b.append(json(String.valueOf(e.getKey()))).append(':').append(json(e.getValue()));
      }
      return b.append('}').toString();
    }
    if (value instanceof List) {
      StringBuilder b = new StringBuilder("[");
      for (Object item : (List<?>) value) {
        if (b.length() > 1) b.append(',');
        b.append(json(item));
      }
      return b.append(']').toString();
    }
    String s = value.toString();
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') b.append('\\').append(ch);
      else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
      else b.append(ch);
    }
    return b.append('"').toString();
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && args[0].equals("--list")) {
      for (String name : CHECKS.keySet()) System.out.println(name);
      return;
    }
    if (args.length < 1) {
      System.err.println("usage: JdbcChecks JDBC_URL [NAME]");
      System.exit(2);
    }
    try (Connection connection = DriverManager.getConnection(args[0])) {
      for (Map.Entry<String, Check> check : CHECKS.entrySet()) {
        if (args.length > 1 && !args[1].equals(check.getKey())) continue;
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("check", check.getKey());
        try {
          line.put("result", check.getValue().run(connection));
        } catch (SQLException | RuntimeException e) {
          line.put("error", e.toString());
        }
        System.out.println(json(line));
        System.out.flush();
      }
    }
  }
}
