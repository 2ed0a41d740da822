// The page a person opens instead of reading the numbers of `npm run bench`: rows/s per operation
// and dataset size, ours beside the pyarrow reference, the batch-size sweep, the servers' peak
// memory, and the micro-benchmarks. One self-contained HTML file (inline SVG, no scripts, no
// network), written next to the run's JSON. The types of that JSON live here too.
//
//   node --import tsx bench/chart.ts bench/results/run-<time>.json [out.html]

import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { MachineFacts, Spread } from './common.ts';

// ---------------------------------------------------------------------------------------------
// The results of bench/run.ts

export const OPERATIONS = ['get', 'transfer-client', 'transfer-direct', 'exchange', 'put'] as const;
export type OperationKey = (typeof OPERATIONS)[number];

export const OPERATION_LABELS: Record<OperationKey, string> = {
  get: 'GET',
  'transfer-client': 'TRANSFER (client)',
  'transfer-direct': 'TRANSFER (direct)',
  exchange: 'EXCHANGE',
  put: 'PUT',
};

export function isOperationKey(text: string): text is OperationKey {
  return (OPERATIONS as readonly string[]).includes(text);
}

/** Peak resident memory in bytes during one timed operation; null where it could not be read. */
export interface PeakMemory {
  client: number | null;
  server1: number | null;
  server2: number | null;
}

/** One timed run of one operation on one side. */
export interface Sample {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** Arrow bytes moved (null for a direct transfer, which the client never sees). */
  bytes: number | null;
  batches: number;
  ok: boolean;
  detail: string;
  memory: PeakMemory;
}

/** The runs of one operation on one side, summarised. */
export interface SideSummary {
  samples: Sample[];
  rowsPerSecond: Spread;
  seconds: Spread;
  /** The highest peak of each process over the runs. */
  peakMemory: PeakMemory;
  verified: boolean;
}

/** One operation at one dataset size and batch size: ours, the reference, and ours / reference. */
export interface Cell {
  op: OperationKey;
  operation: string;
  rows: number;
  batchRows: number;
  ours: SideSummary;
  reference: SideSummary | null;
  /** Median rows/s of ours over the reference's: above 1, ours is faster. */
  ratio: number | null;
}

export interface MicroResult {
  /** The JSON file the micro-benchmark wrote. */
  path: string;
  results: unknown;
}

export interface RunReport {
  name: 'run';
  date: string;
  machine: MachineFacts & { versions: Record<string, string> };
  options: {
    rows: number[];
    runs: number;
    batchRows: number;
    sweepBatchRows: number[];
    sweepAt: number | null;
    ops: OperationKey[];
    warmups: number;
    reference: boolean;
    referencePutMode: string;
  };
  datasets: { rows: number; path: string }[];
  /** Every operation at every dataset size, at the default batch size. */
  matrix: Cell[];
  /** The operations at one dataset size over several server batch sizes (the default one included). */
  sweep: Cell[];
  micro: { flight: MicroResult | null; bridge: MicroResult | null };
  seconds: number;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const OURS = '#2f6fb3';
const OURS_LIGHT = '#8fb8e3';
const REFERENCE = '#e08a2c';
const REFERENCE_LIGHT = '#f3c38d';

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** 24000000 -> "24M", 20000 -> "20K"; binary: 65536 -> "64K". Counts that do not divide evenly stay whole. */
export function shortCount(n: number, binary = false): string {
  const base = binary ? 1024 : 1000;
  const suffixes = ['', 'K', 'M', 'G'];
  let value = n;
  let i = 0;
  while (i < suffixes.length - 1 && value >= base && value % base === 0) {
    value /= base;
    i++;
  }
  return i === 0 ? n.toLocaleString('en-US') : `${value}${suffixes[i]}`;
}

function rate(rowsPerSecond: number): string {
  return rowsPerSecond >= 1e6 ? `${(rowsPerSecond / 1e6).toFixed(2)} M` : `${(rowsPerSecond / 1e3).toFixed(0)} K`;
}

function megabytes(bytes: number | null): string {
  return bytes === null ? '-' : `${Math.round(bytes / 1e6).toLocaleString('en-US')} MB`;
}

function ratioText(ratio: number | null): string {
  return ratio === null ? '' : `×${ratio.toFixed(2)}`;
}

// ---------------------------------------------------------------------------------------------
// A grouped bar chart in SVG

interface Bar {
  value: number;
  min?: number;
  max?: number;
  color: string;
  /** Written above the bar. */
  label: string;
  /** Tooltip. */
  title: string;
}

interface Group {
  label: string;
  /** A second line under the label (the ratio). */
  note?: string;
  bars: Bar[];
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function barChart(groups: readonly Group[], axis: (value: number) => string, axisTitle: string): string {
  const barWidth = 26;
  const barGap = 4;
  const groupGap = 34;
  const left = 64;
  const top = 24;
  const plotHeight = 220;
  const bottom = 52;
  const barsWidth = (g: Group) => g.bars.length * barWidth + (g.bars.length - 1) * barGap;
  // Wide enough for its label too (about 7 px a character at 12 px).
  const groupWidth = (g: Group) => Math.max(barsWidth(g), Math.max(g.label.length, (g.note ?? '').length) * 7 - groupGap + 8);
  const width = left + groups.reduce((sum, g) => sum + groupWidth(g) + groupGap, 0) + 10;
  const height = top + plotHeight + bottom;
  const highest = Math.max(...groups.flatMap((g) => g.bars.map((b) => Math.max(b.value, b.max ?? 0))), 0);
  const max = niceMax(highest * 1.12);
  const y = (v: number) => top + plotHeight - (v / max) * plotHeight;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" class="axis">${escape(axis(v))}</text>`);
  }
  parts.push(
    `<text x="12" y="${top + plotHeight / 2}" transform="rotate(-90 12 ${top + plotHeight / 2})" text-anchor="middle" class="axis">${escape(axisTitle)}</text>`,
  );
  let x = left + groupGap / 2;
  for (const group of groups) {
    const slot = groupWidth(group);
    const center = x + slot / 2;
    const end = x + slot + groupGap;
    x = center - barsWidth(group) / 2;
    for (const bar of group.bars) {
      const h = Math.max(0, top + plotHeight - y(bar.value));
      parts.push(
        `<rect x="${x}" y="${y(bar.value)}" width="${barWidth}" height="${h}" fill="${bar.color}"><title>${escape(bar.title)}</title></rect>`,
      );
      if (bar.min !== undefined && bar.max !== undefined && bar.max > bar.min) {
        const cx = x + barWidth / 2;
        parts.push(`<line x1="${cx}" x2="${cx}" y1="${y(bar.min)}" y2="${y(bar.max)}" stroke="#333"/>`);
        parts.push(`<line x1="${cx - 4}" x2="${cx + 4}" y1="${y(bar.min)}" y2="${y(bar.min)}" stroke="#333"/>`);
        parts.push(`<line x1="${cx - 4}" x2="${cx + 4}" y1="${y(bar.max)}" y2="${y(bar.max)}" stroke="#333"/>`);
      }
      const labelY = Math.min(y(bar.value), bar.max !== undefined ? y(bar.max) : Infinity) - 4;
      parts.push(`<text x="${x + barWidth / 2}" y="${labelY}" text-anchor="middle" class="value">${escape(bar.label)}</text>`);
      x += barWidth + barGap;
    }
    x = end;
    parts.push(`<text x="${center}" y="${top + plotHeight + 18}" text-anchor="middle" class="group">${escape(group.label)}</text>`);
    if (group.note)
      parts.push(`<text x="${center}" y="${top + plotHeight + 36}" text-anchor="middle" class="note">${escape(group.note)}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${width - 10}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#333"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

function rateBars(cell: Cell): Bar[] {
  const bar = (side: SideSummary, who: string, color: string): Bar => ({
    value: side.rowsPerSecond.median,
    min: side.rowsPerSecond.min,
    max: side.rowsPerSecond.max,
    color,
    label: compactRate(side.rowsPerSecond.median),
    title: `${who} ${cell.operation}, ${cell.rows.toLocaleString('en-US')} rows: median ${rate(side.rowsPerSecond.median)}rows/s over ${side.samples.length} run(s) (${rate(side.rowsPerSecond.min)}..${rate(side.rowsPerSecond.max)})${side.verified ? '' : ', VERIFICATION FAILED'}`,
  });
  return [bar(cell.ours, 'ours', OURS), ...(cell.reference ? [bar(cell.reference, 'reference', REFERENCE)] : [])];
}

/** 5_230_000 -> "5.2M", 12_400_000 -> "12M", 420_000 -> "420K": bar labels and axes of rows/s. */
function compactRate(v: number): string {
  if (v >= 1e7) return `${Math.round(v / 1e6)}M`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${Math.round(v / 1e3)}K`;
  return v === 0 ? '0' : v.toPrecision(2);
}

function legend(entries: readonly [string, string][]): string {
  return `<p class="legend">${entries.map(([color, text]) => `<span><i style="background:${color}"></i>${escape(text)}</span>`).join('')}</p>`;
}

function cellTable(cells: readonly Cell[], withBatchRows: boolean): string {
  const head = [
    'operation',
    'rows',
    ...(withBatchRows ? ['batch rows'] : []),
    'ours rows/s (min..max)',
    'reference rows/s (min..max)',
    'ours / reference',
    'verified',
  ];
  const rows = cells.map((c) => {
    const side = (s: SideSummary | null) =>
      s ? `${rate(s.rowsPerSecond.median)} (${rate(s.rowsPerSecond.min)}..${rate(s.rowsPerSecond.max)})` : '-';
    const verified = c.ours.verified && (c.reference?.verified ?? true);
    return [
      c.operation,
      c.rows.toLocaleString('en-US'),
      ...(withBatchRows ? [c.batchRows.toLocaleString('en-US')] : []),
      side(c.ours),
      side(c.reference),
      c.ratio === null ? '-' : c.ratio.toFixed(2),
      verified ? '✓' : '✗ FAILED',
    ];
  });
  return htmlTable(head, rows);
}

function htmlTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((v) => `<td>${escape(v)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

// ---------------------------------------------------------------------------------------------
// Sections

function throughputSection(report: RunReport): string {
  const sizes = [...new Set(report.matrix.map((c) => c.rows))].sort((a, b) => a - b);
  const panels = sizes.map((rows) => {
    const cells = report.matrix.filter((c) => c.rows === rows);
    const groups = cells.map((c) => ({ label: c.operation, note: ratioText(c.ratio), bars: rateBars(c) }));
    return `<figure><figcaption>${rows.toLocaleString('en-US')} rows, batches of ${report.options.batchRows.toLocaleString('en-US')} rows</figcaption>${barChart(groups, compactRate, 'rows/s')}</figure>`;
  });
  return `<h2>Throughput</h2>
<p>Median rows/s of ${report.options.runs} run(s) each, ours and the reference alternating; whiskers span the slowest and fastest run. Under each operation: ours / reference (above 1, ours is faster).</p>
${legend([
  [OURS, 'ours (duck-flight, Node)'],
  [REFERENCE, 'reference (pyarrow.flight + duckdb, Python)'],
])}
<div class="panels">${panels.join('')}</div>
${cellTable(report.matrix, false)}`;
}

function sweepSection(report: RunReport): string {
  if (report.sweep.length === 0) return '';
  const ops = [...new Set(report.sweep.map((c) => c.op))];
  const panels = ops.map((op) => {
    const cells = report.sweep.filter((c) => c.op === op).sort((a, b) => a.batchRows - b.batchRows);
    const groups = cells.map((c) => ({ label: `${shortCount(c.batchRows, true)} rows`, note: ratioText(c.ratio), bars: rateBars(c) }));
    return `<figure><figcaption>${escape(OPERATION_LABELS[op])}</figcaption>${barChart(groups, compactRate, 'rows/s')}</figure>`;
  });
  const rows = report.sweep[0]!.rows;
  return `<h2>Batch size</h2>
<p>${rows.toLocaleString('en-US')} rows; the servers' DoGet batch size (duck-flight <code>--batch-rows</code>, the reference's <code>relation.arrow(batch_size)</code>) varied. Transfers and exchanges carry the batches the GET produced.</p>
<div class="panels">${panels.join('')}</div>
${cellTable(report.sweep, true)}`;
}

function memorySection(report: RunReport): string {
  if (report.matrix.length === 0) return '';
  const rows = Math.max(...report.matrix.map((c) => c.rows));
  const cells = report.matrix.filter((c) => c.rows === rows);
  const mb = (v: number) => `${Math.round(v / 1e6)}`;
  const memoryBar = (value: number | null, color: string, who: string, c: Cell): Bar[] =>
    value === null ? [] : [{ value, color, label: mb(value), title: `${who}, ${c.operation}: peak RSS ${megabytes(value)}` }];
  const groups = cells.map((c) => ({
    label: c.operation,
    bars: [
      ...memoryBar(c.ours.peakMemory.server1, OURS, 'ours server 1', c),
      ...memoryBar(c.ours.peakMemory.server2, OURS_LIGHT, 'ours server 2', c),
      ...memoryBar(c.reference?.peakMemory.server1 ?? null, REFERENCE, 'reference server 1', c),
      ...memoryBar(c.reference?.peakMemory.server2 ?? null, REFERENCE_LIGHT, 'reference server 2', c),
    ],
  }));
  if (groups.every((g) => g.bars.length === 0))
    return '<h2>Memory</h2><p>Peak RSS was not available on this system (it is read from /proc).</p>';
  const table = htmlTable(
    ['operation', 'ours server 1', 'ours server 2', 'ours client', 'reference server 1', 'reference server 2', 'reference client'],
    cells.map((c) => [
      c.operation,
      megabytes(c.ours.peakMemory.server1),
      megabytes(c.ours.peakMemory.server2),
      megabytes(c.ours.peakMemory.client),
      megabytes(c.reference?.peakMemory.server1 ?? null),
      megabytes(c.reference?.peakMemory.server2 ?? null),
      megabytes(c.reference?.peakMemory.client ?? null),
    ]),
  );
  return `<h2>Memory</h2>
<p>Peak resident memory (VmHWM, reset just before each timed operation) of each server process during the operation, ${rows.toLocaleString('en-US')} rows, highest over the runs. Server 1 holds the table; server 2 receives transfers and puts. A server's peak includes what it held before the operation (its tables, memory its allocator kept).</p>
${legend([
  [OURS, 'ours server 1'],
  [OURS_LIGHT, 'ours server 2'],
  [REFERENCE, 'reference server 1'],
  [REFERENCE_LIGHT, 'reference server 2'],
])}
<figure>${barChart(groups, (v) => `${Math.round(v / 1e6)}`, 'MB')}</figure>
${table}`;
}

function microSection(report: RunReport): string {
  const parts: string[] = [];
  const flight = report.micro.flight?.results as
    { operation: string; kind: string; rows: number; gbPerSecond: number; rowsPerSecond: number; rmePercent: number }[] | undefined;
  if (Array.isArray(flight) && flight.length > 0) {
    const kinds = [...new Set(flight.map((r) => r.kind))];
    const sizes = [...new Set(flight.map((r) => r.rows))].sort((a, b) => a - b);
    const groups = kinds.flatMap((kind) =>
      sizes.map((rows) => ({
        label: `${kind} ${shortCount(rows, true)}`,
        bars: (['encode', 'decode'] as const).flatMap((op) => {
          const r = flight.find((x) => x.kind === kind && x.rows === rows && x.operation === op);
          return r
            ? [
                {
                  value: r.gbPerSecond,
                  color: op === 'encode' ? OURS : OURS_LIGHT,
                  label: r.gbPerSecond.toFixed(1),
                  title: `${op} ${kind}, ${rows} rows per batch: ${r.gbPerSecond.toFixed(2)} GB/s ±${r.rmePercent.toFixed(1)}%`,
                },
              ]
            : [];
        }),
      })),
    );
    parts.push(`<h3>FlightData encode / decode (bench/flight.ts)</h3>${legend([
      [OURS, 'encode'],
      [OURS_LIGHT, 'decode'],
    ])}<figure>${barChart(groups, (v) => v.toFixed(1), 'GB/s')}</figure>
<p class="source">${escape(report.micro.flight!.path)}</p>`);
  }
  const bridge = report.micro.bridge?.results as { rows?: number; rowsPerSecond?: Record<string, number | null> } | undefined;
  if (bridge?.rowsPerSecond) {
    const entries = Object.entries(bridge.rowsPerSecond).filter((e): e is [string, number] => e[1] !== null);
    parts.push(`<h3>DuckDB ⇄ Arrow bridge (bench/bridge.ts, ${(bridge.rows ?? 0).toLocaleString('en-US')} rows)</h3>
${htmlTable(
  ['measure', 'rows/s'],
  entries.map(([k, v]) => [k, rate(v)]),
)}
<p class="source">${escape(report.micro.bridge!.path)}</p>`);
  }
  return parts.length > 0 ? `<h2>Micro-benchmarks</h2>${parts.join('')}` : '';
}

/**
 * The whole page for a run of bench/run.ts.
 *
 * @example
 *   writeFileSync('run.html', renderChart(JSON.parse(readFileSync('run.json', 'utf8'))));
 */
export function renderChart(report: RunReport): string {
  const m = report.machine;
  const versions = Object.entries(m.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>duck-takes-flight benchmark ${escape(report.date)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ccc; } h3 { font-size: 15px; }
.panels { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg text { font: 11px system-ui, sans-serif; } svg .group { font-size: 12px; } svg .note { font-size: 12px; font-weight: 600; } svg .axis { fill: #555; }
table { border-collapse: collapse; margin: 12px 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; } td:first-child, th:first-child { text-align: left; }
.legend span { margin-right: 16px; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
.facts, .source { color: #555; font-size: 12px; }
</style></head><body>
<h1>duck-takes-flight vs the pyarrow reference: ${escape(report.date)}</h1>
<p class="facts">${escape(`${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform} ${m.arch}, load ${m.loadAverage.toFixed(2)} at the start; commit ${m.commit}${m.dirty ? ' (with uncommitted changes)' : ''}; ${versions}; ${Math.round(report.seconds)} s in all`)}</p>
${throughputSection(report)}
${sweepSection(report)}
${memorySection(report)}
${microSection(report)}
</body></html>
`;
}

async function main(argv: string[]): Promise<void> {
  const [input, output] = argv;
  if (!input) throw new Error('usage: node --import tsx bench/chart.ts <run results .json> [out.html]');
  const report = JSON.parse(readFileSync(input, 'utf8')) as RunReport;
  if (report.name !== 'run' || !Array.isArray(report.matrix))
    throw new Error(`${input} is not a bench/run.ts result (name ${JSON.stringify(report.name)})`);
  const path = output ?? input.replace(/\.json$/, '') + '.html';
  writeFileSync(path, renderChart(report));
  console.log(`wrote ${path}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
