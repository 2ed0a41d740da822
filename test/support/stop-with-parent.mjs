// Preloaded (node --import) into the duck-flight processes the tests spawn. The test process
// holds the write end of the child's stdin; if the test process dies without stopping the child
// (a crash, a SIGKILL, a runner timeout), the pipe reaches end-of-file and the child sends itself
// SIGTERM, which the CLI treats as a graceful shutdown. No server outlives its test.
process.stdin.on('error', () => {});
process.stdin.on('data', () => {});
process.stdin.once('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
