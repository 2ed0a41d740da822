#!/usr/bin/env -S node --initial-old-space-size=128
// The `duck-flight` command: runs the TypeScript CLI through tsx. The flag on the first line is
// servers/node-flags.ts's (why it is there, and the same list for the processes we spawn).
import { register } from 'tsx/esm/api';

register();
await import('../servers/cli.ts');
