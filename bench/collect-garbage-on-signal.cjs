// Preloaded by `npm run soak` only (node --expose-gc --require ...): on SIGUSR2 the server
// collects its garbage and appends what is left to SOAK_MEMORY_FILE, so the soak can tell memory
// that is still referenced (a leak) from garbage the collector has not reached yet.
const { appendFileSync } = require('node:fs');

const file = process.env.SOAK_MEMORY_FILE;
if (file && typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    globalThis.gc();
    const { rss, heapUsed } = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ time: Date.now(), rss, heapUsed })}\n`);
  });
}
