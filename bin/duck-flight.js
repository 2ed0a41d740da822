#!/usr/bin/env node
// The `duck-flight` command: runs the TypeScript CLI through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../servers/cli.ts');
