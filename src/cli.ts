#!/usr/bin/env -S node --max-semi-space-size=8
import { enableCompileCache } from 'node:module';

// V8's compiled code for every module, kept on disk (NODE_COMPILE_CACHE, else the system's temporary
// directory) and reused by the next start: compiling the service's modules was about a tenth of a
// start. It must be on before those modules load, so they are imported only after this line. A
// cache that cannot be written (a read-only file system) only leaves starts as they were.
enableCompileCache();
await import('./command-line.js');
