// The client's memory while an operation runs: sampled as batches pass, so a run can show that
// it streams (its Arrow buffers stay at a few batches) instead of holding a whole result.

/** Peaks of process.memoryUsage(), in bytes, over the samples taken. */
export class MemoryPeak {
  rss = 0;
  /** Memory of ArrayBuffers and Buffers: where Arrow data lives. */
  arrayBuffers = 0;
  heapUsed = 0;

  sample(): void {
    const m = process.memoryUsage();
    if (m.rss > this.rss) this.rss = m.rss;
    if (m.arrayBuffers > this.arrayBuffers) this.arrayBuffers = m.arrayBuffers;
    if (m.heapUsed > this.heapUsed) this.heapUsed = m.heapUsed;
  }

  /** e.g. "peak RSS 210 MB, Arrow/Buffer memory 40 MB, JS heap 30 MB". */
  describe(): string {
    const mb = (n: number) => `${Math.round(n / 1e6)} MB`;
    return `peak RSS ${mb(this.rss)}, ArrayBuffers ${mb(this.arrayBuffers)}, JS heap ${mb(this.heapUsed)}`;
  }
}
