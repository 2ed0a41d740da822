// Shared pieces of the benchmarks: summary statistics, the facts of the machine a figure was
// measured on, the JSON writer into bench/results/ (git-ignored), and deterministic in-memory
// record batches of the shapes the Flight benchmarks use.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Bool,
  DateDay,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
  type Data,
  type DataType,
} from 'apache-arrow';

// ---------------------------------------------------------------------------------------------
// Statistics

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median: how much the runs disagree. */
  relative: number;
  runs: number;
}

export function spread(values: readonly number[]): Spread {
  const m = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { median: m, min, max, relative: m === 0 ? 0 : (max - min) / m, runs: values.length };
}

export const GB = 1e9;
export const MiB = 1024 * 1024;

/** Bytes per second as GB/s (decimal gigabytes, as network figures are quoted). */
export function gbPerSecond(bytes: number, seconds: number): number {
  return bytes / seconds / GB;
}

// ---------------------------------------------------------------------------------------------
// Machine facts and results

export interface MachineFacts {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  /** 1-minute load average when the run started: other work on a shared machine shows here. */
  loadAverage: number;
  commit: string;
  /** True when flight/ or bench/ differ from the commit (the figures are of uncommitted code). */
  dirty: boolean;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch (error) {
    return `unknown (${(error as Error).message.split('\n')[0]})`;
  }
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverage: os.loadavg()[0]!,
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain', '--', 'flight', 'bench') !== '',
  };
}

/** Writes `payload` (with the machine facts) to bench/results/<name>-<timestamp>.json; returns the path. */
export function writeResults(name: string, payload: object): string {
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = join(dir, `${name}-${stamp}.json`);
  writeFileSync(path, JSON.stringify({ name, date: new Date().toISOString(), machine: machineFacts(), ...payload }, null, 2) + '\n');
  return path;
}

export function formatNumber(value: number, digits = 2): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "65536" -> 65536, "64K" -> 65536, "1M" -> 1048576. */
export function parseCount(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text.trim());
  if (!match) throw new Error(`not a count: ${JSON.stringify(text)} (use e.g. 8192, 64K, 1M)`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * scale);
}

// ---------------------------------------------------------------------------------------------
// Deterministic batches

/** The column shapes the Flight benchmarks run over. */
export const BATCH_KINDS = ['int64', 'float64', 'utf8-short', 'utf8-long', 'flights'] as const;
export type BatchKind = (typeof BATCH_KINDS)[number];

export function isBatchKind(text: string): text is BatchKind {
  return (BATCH_KINDS as readonly string[]).includes(text);
}

/**
 * A small, fast, seedable generator (mulberry32) of numbers in [0, 1): the same seed gives the
 * same sequence everywhere (the benchmark batches, the load run's mix, the fuzzer's mutations).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const utf8 = new TextEncoder();

/** A Utf8 column whose values are drawn from `vocabulary`. */
function stringColumn(rows: number, vocabulary: readonly string[], next: () => number): Data<Utf8> {
  const words = vocabulary.map((w) => utf8.encode(w));
  const picks = new Uint32Array(rows);
  let bytes = 0;
  for (let i = 0; i < rows; i++) {
    const pick = Math.floor(next() * words.length);
    picks[i] = pick;
    bytes += words[pick]!.byteLength;
  }
  const offsets = new Int32Array(rows + 1);
  const data = new Uint8Array(bytes);
  let at = 0;
  for (let i = 0; i < rows; i++) {
    const word = words[picks[i]!]!;
    data.set(word, at);
    at += word.byteLength;
    offsets[i + 1] = at;
  }
  return makeData({ type: new Utf8(), length: rows, valueOffsets: offsets, data });
}

/** A validity bitmap with about `nullRate` of the rows null; returns the bitmap and its null count. */
function validity(rows: number, nullRate: number, next: () => number): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array((rows + 7) >> 3).fill(0xff);
  let nullCount = 0;
  for (let i = 0; i < rows; i++) {
    if (next() < nullRate) {
      nullBitmap[i >> 3]! &= ~(1 << (i & 7));
      nullCount++;
    }
  }
  return { nullBitmap, nullCount };
}

function words(count: number, minLength: number, maxLength: number, next: () => number): string[] {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return Array.from({ length: count }, () => {
    const length = minLength + Math.floor(next() * (maxLength - minLength + 1));
    let word = '';
    for (let i = 0; i < length; i++) word += alphabet[Math.floor(next() * alphabet.length)];
    return word;
  });
}

function batchOf(columns: [string, DataType, Data, boolean?][]): RecordBatch {
  const fields = columns.map(([name, type, , nullable]) => new Field(name, type, nullable ?? false));
  const length = columns[0]![2].length;
  const children = columns.map(([, , data]) => data);
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length, children }));
}

/**
 * One record batch of `rows` rows:
 * - int64, float64: one column of that type;
 * - utf8-short: one column of 3-10 byte strings; utf8-long: one of 40-200 byte strings;
 * - flights: 12 columns shaped like the flights table (a date, a timestamp, four strings, an
 *   int32, four doubles of which three have nulls, a boolean: the table less DEST_CITY).
 */
export function makeBatch(kind: BatchKind, rows: number, seed = 1): RecordBatch {
  const next = mulberry32(seed);
  switch (kind) {
    case 'int64': {
      const values = new BigInt64Array(rows);
      for (let i = 0; i < rows; i++) values[i] = BigInt(Math.floor(next() * 2 ** 40)) - 2n ** 39n;
      return batchOf([['value', new Int64(), makeData({ type: new Int64(), length: rows, data: values })]]);
    }
    case 'float64': {
      const values = new Float64Array(rows);
      for (let i = 0; i < rows; i++) values[i] = next() * 1e6;
      return batchOf([['value', new Float64(), makeData({ type: new Float64(), length: rows, data: values })]]);
    }
    case 'utf8-short':
      return batchOf([['value', new Utf8(), stringColumn(rows, words(1000, 3, 10, next), next)]]);
    case 'utf8-long':
      return batchOf([['value', new Utf8(), stringColumn(rows, words(1000, 40, 200, next), next)]]);
    case 'flights':
      return flightsBatch(rows, next);
  }
}

function flightsBatch(rows: number, next: () => number): RecordBatch {
  const carriers = ['AA', 'AS', 'B6', 'DL', 'F9', 'G4', 'HA', 'NK', 'OO', 'UA', 'WN', 'YX', 'MQ', '9E'];
  const codes = words(300, 3, 3, next).map((w) => w.toUpperCase().replace(/ /g, 'X'));
  const cities = words(300, 6, 24, next);
  const date = new Int32Array(rows);
  const depTime = new BigInt64Array(rows);
  const flNum = new Int32Array(rows);
  const doubles = Array.from({ length: 4 }, () => new Float64Array(rows));
  const cancelled = new Uint8Array((rows + 7) >> 3);
  const firstDay = 19358; // 2023-01-01 in days since the epoch
  for (let i = 0; i < rows; i++) {
    const day = firstDay + Math.floor((i * 365) / rows);
    date[i] = day;
    depTime[i] = BigInt(day * 86400 + Math.floor(next() * 288) * 300) * 1_000_000n;
    flNum[i] = 1 + Math.floor(next() * 6999);
    doubles[0]![i] = Math.round(next() * 60 - 10);
    doubles[1]![i] = Math.round(next() * 70 - 15);
    doubles[2]![i] = Math.round(30 + next() * 300);
    doubles[3]![i] = Math.round(100 + next() * 2500);
    if (next() < 0.02) cancelled[i >> 3]! |= 1 << (i & 7);
  }
  const nullable = (name: string, values: Float64Array): [string, DataType, Data, boolean] => {
    const { nullBitmap, nullCount } = validity(rows, 0.02, next);
    return [name, new Float64(), makeData({ type: new Float64(), length: rows, data: values, nullBitmap, nullCount }), true];
  };
  return batchOf([
    ['FL_DATE', new DateDay(), makeData({ type: new DateDay(), length: rows, data: date })],
    ['DEP_TIME', new TimestampMicrosecond(), makeData({ type: new TimestampMicrosecond(), length: rows, data: depTime })],
    ['OP_CARRIER', new Utf8(), stringColumn(rows, carriers, next)],
    ['ORIGIN', new Utf8(), stringColumn(rows, codes, next)],
    ['DEST', new Utf8(), stringColumn(rows, codes, next)],
    ['ORIGIN_CITY', new Utf8(), stringColumn(rows, cities, next)],
    ['FL_NUM', new Int32(), makeData({ type: new Int32(), length: rows, data: flNum })],
    nullable('DEP_DELAY', doubles[0]!),
    nullable('ARR_DELAY', doubles[1]!),
    nullable('AIR_TIME', doubles[2]!),
    ['DISTANCE', new Float64(), makeData({ type: new Float64(), length: rows, data: doubles[3]! })],
    ['CANCELLED', new Bool(), makeData({ type: new Bool(), length: rows, data: cancelled })],
  ]);
}
