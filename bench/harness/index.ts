// Reusable pieces of the demo and the throughput benchmark: server processes, the timed and
// verified operations, progress on stderr, and the report table.
export {
  DUCK_FLIGHT_BIN,
  ServerGroup,
  ServerProcess,
  ServerStartError,
  checkPort,
  describeExit,
  isPortFree,
  spawnServer,
  startServer,
  type ExitInfo,
  type ServerLogLevel,
  type ServerSpec,
} from './processes.ts';
export {
  arrowBytes,
  compareTables,
  countRows,
  dropTableIfExists,
  isAllTrue,
  quoteIdentifier,
  runExchange,
  runGet,
  runTransferDirect,
  runTransferThroughClient,
  tableStats,
  type CommonOptions,
  type ExchangeOptions,
  type GetOptions,
  type OperationResult,
  type ProgressCallback,
  type TableStats,
  type TransferOptions,
  type Verification,
} from './operations.ts';
export { MemoryPeak } from './memory.ts';
export { progressBar, rowCounter, type ProgressOptions, type RowCounterOptions } from './progress.ts';
export { FAIL, PASS, REPORT_HEADINGS, allVerified, parseReport, renderReport, reportRow, type ParsedReportRow } from './report.ts';
