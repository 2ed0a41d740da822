// Progress on stderr for long waits: a redrawn bar on a terminal, plain lines in a file or pipe
// (every few percent, and at least every `heartbeatSeconds`, so a log shows the run is alive).

export interface ProgressOptions {
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Non-terminal output: a line per this many percent (default 5). */
  stepPercent?: number;
  /** Non-terminal output: a line at least this often, in seconds, even without a new step (default 30). */
  heartbeatSeconds?: number;
}

const BAR_WIDTH = 30;

function elapsed(startedMs: number): string {
  const s = Math.round((performance.now() - startedMs) / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/**
 * A progress printer for a task that reports its fraction done (0 to 1), such as
 * ensureFlightsParquet's onProgress. The line ends when 1 is reported.
 *
 * @example
 *   await ensureFlightsParquet({ rows, onProgress: progressBar('generating flights') });
 */
export function progressBar(label: string, options: ProgressOptions = {}): (fraction: number) => void {
  const stream = options.stream ?? process.stderr;
  const step = options.stepPercent ?? 5;
  const heartbeatMs = (options.heartbeatSeconds ?? 30) * 1000;
  const started = performance.now();
  let lastStep = -1;
  let lastLineAt = 0;
  let done = false;
  return (fraction) => {
    if (done) return;
    const clamped = Math.min(Math.max(fraction, 0), 1);
    const percent = Math.floor(clamped * 100);
    if (stream.isTTY) {
      const filled = Math.round(clamped * BAR_WIDTH);
      stream.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(percent).padStart(3)}% ${elapsed(started)}   `,
      );
      if (clamped >= 1) stream.write('\n');
    } else {
      const now = performance.now();
      const currentStep = Math.floor(percent / step);
      if (currentStep > lastStep || now - lastLineAt >= heartbeatMs || clamped >= 1) {
        lastStep = currentStep;
        lastLineAt = now;
        stream.write(`${label}: ${percent}% (${elapsed(started)})\n`);
      }
    }
    done = clamped >= 1;
  };
}

export interface RowCounterOptions {
  /** Least time between two updates on a terminal (default 500 ms). */
  intervalMs?: number;
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Off a terminal, a line at least this often (default: none; the counter is silent there). */
  lineEverySeconds?: number;
}

/**
 * A rows-so-far counter for an operation, redrawn at most every `intervalMs` on a terminal and
 * silent elsewhere unless `lineEverySeconds` is set. Call the returned `finish` to clear the line.
 */
export function rowCounter(
  label: string,
  totalRows: number | undefined,
  options: RowCounterOptions = {},
): { update: (rows: number) => void; finish: () => void } {
  const stream = options.stream ?? process.stderr;
  const intervalMs = stream.isTTY ? (options.intervalMs ?? 500) : (options.lineEverySeconds ?? Infinity) * 1000;
  let last = stream.isTTY ? 0 : performance.now();
  let drawn = false;
  return {
    update(rows) {
      if (!stream.isTTY && intervalMs === Infinity) return;
      const now = performance.now();
      if (now - last < intervalMs) return;
      last = now;
      const of = totalRows ? ` / ${totalRows.toLocaleString('en-US')} (${Math.floor((rows / totalRows) * 100)}%)` : '';
      const text = `  ${label}: ${rows.toLocaleString('en-US')} rows${of}`;
      if (stream.isTTY) {
        drawn = true;
        stream.write(`\r${text}   `);
      } else {
        stream.write(`${text}\n`);
      }
    },
    finish() {
      if (drawn && stream.isTTY) stream.write('\r\x1b[2K');
    },
  };
}
