import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { DriftMinuteCounter, type DriftMinuteCount } from '../data-plane/drift-minutes.js';
import { driftSettings } from '../monitoring/drift-report.js';
import { DRIFT_MINUTES_KEPT_MS, TIME_WINDOWS, timeWindowReport, unavailableWindows, windowStart } from '../monitoring/drift-time-windows.js';
import type { DriftTimeWindows } from '../schemas/drift.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Drift over the last hour and the last day, from the minute buckets in the prediction log's store. */
    driftTimeWindows(): Promise<DriftTimeWindows>;
  }
}

/** This process adds its minute counts to the store this often (and before a report, and at close). */
export const DRIFT_MINUTES_WRITE_INTERVAL_MS = 5_000;
/**
 * Counts waiting while the store is down, at most (one per minute, profile and bin: a day of
 * traffic is about 1,440 × 45); past it the oldest are dropped.
 */
export const DRIFT_MINUTES_MAX_WAITING = 100_000;
const RETENTION_CHECK_INTERVAL_MS = 3_600_000;
/**
 * GET /monitoring/drift waits this long for the store (this process's last counts written, then
 * both sums), at most: a hung database must not hold the report of the row window and the
 * plausibility checks, which need no store.
 */
export const DRIFT_WINDOWS_READ_TIMEOUT_MS = 2_000;

class StoreTooSlowError extends Error {}

/** `work`, or a StoreTooSlowError after `ms`; leaves no timer behind. */
async function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new StoreTooSlowError()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Time-window drift: every row this process scores is counted into its minute's bucket per
 * feature and score bin (src/data-plane/drift-minutes.ts), and the counts are added to the
 * prediction log's store every few seconds, so every worker and replica adds to the same buckets
 * and a restart keeps them. A window is one summing query over at most 1,440 minutes.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const store = app.predictionLogStore;
    if (!config.DRIFT_MONITORING || !store) {
      const reason = !config.DRIFT_MONITORING
        ? 'drift monitoring is off (DRIFT_MONITORING=false)'
        : 'the prediction log is off (PREDICTION_LOG=false): the time windows are kept in its store, so that every replica adds to them and a restart keeps them';
      app.decorate('driftTimeWindows', async () => unavailableWindows(reason));
      return;
    }
    const settings = driftSettings(config);
    const counter = new DriftMinuteCounter({ maxReturned: DRIFT_MINUTES_MAX_WAITING });
    app.dataPlane.observe(counter);

    let failing = false;
    const write = async () => {
      const counts: DriftMinuteCount[] = counter.take();
      if (counts.length === 0) return;
      try {
        await store.addDriftMinutes(counts);
        if (failing) app.log.info('drift windows: the store takes minute counts again');
        failing = false;
      } catch (error) {
        // The write was one transaction: nothing of it landed, so the same counts go again next time.
        counter.putBack(counts);
        if (!failing) app.log.error({ err: error }, 'drift windows: writing minute counts failed; they wait and are retried');
        failing = true;
      }
    };
    // One write at a time, in order; a write never rejects.
    let writes = Promise.resolve();
    const flush = () => (writes = writes.then(write));

    const deleteOld = () =>
      store
        .deleteDriftMinutesBefore(new Date(Date.now() - DRIFT_MINUTES_KEPT_MS))
        // A background job: its failure is logged, never an unhandled rejection; the next check retries.
        .catch((error: unknown) => app.log.error({ err: error }, 'drift windows: deleting old minute counts failed'));
    await deleteOld();
    const writeTimer = setInterval(() => void flush(), DRIFT_MINUTES_WRITE_INTERVAL_MS);
    const retentionTimer = setInterval(() => void deleteOld(), RETENTION_CHECK_INTERVAL_MS);
    writeTimer.unref();
    retentionTimer.unref();
    // Registered after the prediction log, so this runs before its hook closes the store.
    app.addHook('onClose', async () => {
      clearInterval(writeTimer);
      clearInterval(retentionTimer);
      await flush();
    });

    app.decorate('driftTimeWindows', async () => {
      const current = counter.current;
      if (!current) return unavailableWindows(app.dataPlane.model ? 'the model has no drift reference profile (it came without a model card)' : 'no model is loaded yet');
      const now = Date.now();
      try {
        const [lastHour, lastDay] = await withinDeadline(
          (async () => {
            // This process's last seconds count too; other workers' join at their next write.
            await flush();
            return Promise.all(
              TIME_WINDOWS.map(async ({ minutes }) => {
                const since = windowStart(now, minutes);
                return timeWindowReport(current.reference, await store.sumDriftMinutes(current.model.sha256, since), minutes, since, settings);
              }),
            );
          })(),
          DRIFT_WINDOWS_READ_TIMEOUT_MS,
        );
        return { available: true, last_hour: lastHour!, last_day: lastDay! };
      } catch (error) {
        if (error instanceof StoreTooSlowError) {
          app.log.error({ timeoutMs: DRIFT_WINDOWS_READ_TIMEOUT_MS }, 'drift windows: the store did not answer in time');
          return unavailableWindows(`the prediction log's store did not answer within ${DRIFT_WINDOWS_READ_TIMEOUT_MS} ms; the row window above is unaffected`);
        }
        app.log.error({ err: error }, 'drift windows: reading minute counts failed');
        return unavailableWindows('the prediction log\'s store did not answer; the row window above is unaffected');
      }
    });
  },
  { name: 'drift-windows', dependencies: ['data-plane', 'prediction-log'] },
);
