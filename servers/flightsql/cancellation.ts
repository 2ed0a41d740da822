// Queries being read (DoGet) by their ticket's query id, so that CancelFlightInfo can stop one
// from another call: aborting its signal interrupts the DuckDB connection running it. A ticket
// cancelled before its DoGet starts is remembered, and that DoGet then fails as cancelled.

import { FlightError } from '../../flight/index.ts';

/** How many cancelled-but-not-started query ids are remembered. */
const REMEMBERED = 4096;

export class RunningQueries {
  private readonly running = new Map<string, AbortController>();
  private readonly cancelledEarly = new Set<string>();

  /** Registers a DoGet; its signal aborts when the call's does or the query is cancelled. */
  start(queryId: Uint8Array, callSignal: AbortSignal): { signal: AbortSignal; finish(): void } {
    const key = Buffer.from(queryId).toString('hex');
    if (this.cancelledEarly.delete(key)) throw FlightError.cancelled('the query was cancelled (CancelFlightInfo) before it ran');
    const controller = new AbortController();
    this.running.set(key, controller);
    return {
      signal: AbortSignal.any([callSignal, controller.signal]),
      finish: () => {
        if (this.running.get(key) === controller) this.running.delete(key);
      },
    };
  }

  /** Cancels the query if it runs, or makes its coming DoGet fail. */
  cancel(queryId: Uint8Array): void {
    const key = Buffer.from(queryId).toString('hex');
    const controller = this.running.get(key);
    if (controller) {
      controller.abort(FlightError.cancelled('the query was cancelled (CancelFlightInfo)'));
      this.running.delete(key);
      return;
    }
    this.cancelledEarly.add(key);
    if (this.cancelledEarly.size > REMEMBERED) {
      const oldest = this.cancelledEarly.values().next().value as string;
      this.cancelledEarly.delete(oldest);
    }
  }

  get size(): number {
    return this.running.size;
  }
}
