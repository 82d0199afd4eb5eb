import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    eventLoopDelay: ELDHistogram;
  }
}

const NS_PER_MS = 1e6;
const RESOLUTION_MS = 5;

/** The histogram records whole timer intervals; the delay is what exceeds the resolution. */
export function summarizeDelay(histogram: ELDHistogram) {
  const ms = (ns: number) => Math.round(Math.max(0, ns / NS_PER_MS - RESOLUTION_MS) * 1000) / 1000;
  return {
    p50Ms: ms(histogram.percentile(50)),
    p99Ms: ms(histogram.percentile(99)),
    maxMs: ms(histogram.max),
    samples: histogram.count,
  };
}

/**
 * Tracks how long the event loop is held up. onnxruntime-node's run() blocks the loop, so this
 * is the number that shows whether batching keeps every other request moving.
 */
export default fp(
  async (app) => {
    const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    histogram.enable();
    app.decorate('eventLoopDelay', histogram);
    app.addHook('onClose', async () => {
      histogram.disable();
      app.log.info({ eventLoopDelay: summarizeDelay(histogram) }, 'event loop delay since start');
    });
  },
  { name: 'event-loop-monitor' },
);
