// V8 flags a duck-flight process runs with (bin/duck-flight.js's first line, the demo and the
// benchmarks' servers and the tests' servers all pass them).
//
// --initial-old-space-size: a server's JS heap is small (about 12 MB) while it moves gigabytes
// through ArrayBuffers, and V8 sizes its next full GC by the heap's size, counting ArrayBuffer
// memory against the same budget: with the default start it ran a mark-compact every 5-10 MB of
// batches. Streaming 6M flights rows through the bridge (`streamQuery`) measured 121 full GCs and
// 2.35 s; with the old generation starting at 128 MB, 23 full GCs and 1.7 s (-27% wall, -30% CPU),
// peak RSS unchanged. The flag only moves the first GC threshold: no memory is reserved. V8 reads
// it when the process starts, so it cannot be set from inside (v8.setFlagsFromString has no
// effect on it) nor through NODE_OPTIONS (refused there).
export const DUCK_FLIGHT_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
