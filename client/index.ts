export {
  DuckDBFlightClient,
  type DuckDBFlightClientOptions,
  type UploadResult,
  type UploadOptions,
  type TransferMode,
} from './DuckDBFlightClient.ts';
