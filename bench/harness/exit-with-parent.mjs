// Preloaded (node --import) into server processes that the harness forks. The parent holds the
// write end of the child's stdin; when the parent dies, even by SIGKILL, the pipe reaches EOF and
// the child stops itself with SIGTERM, which the duck-flight CLI handles as a graceful shutdown.
// So a forked server never outlives the process that forked it.
process.stdin.on('data', () => {});
process.stdin.on('error', () => {});
process.stdin.once('end', () => process.kill(process.pid, 'SIGTERM'));
process.stdin.resume();
