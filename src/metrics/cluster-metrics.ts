import type { WorkerCounts } from '../cluster/messages.js';
import type { MetricsSnapshot } from './service-metrics.js';

type MetricObject = MetricsSnapshot[number];
type Sample = MetricObject['values'][number] & { metricName?: string };

interface RetiredMetric {
  name: string;
  help: string;
  type: MetricObject['type'];
  samples: Map<string, Sample>;
}

/**
 * Counters and histograms only grow within a worker, and a scrape adds them up over the workers:
 * those can be carried on after their worker has gone. A gauge (memory, the model served) says
 * something of a live process only, and a metric aggregated otherwise than by sum would not add.
 */
function carriedAfterExit(metric: MetricObject): boolean {
  const type = String(metric.type);
  return (type === 'counter' || type === 'histogram') && (metric.aggregator ?? 'sum') === 'sum';
}

/** One series of a metric: a histogram's bucket, sum or count, and its labels in a stable order. */
function seriesKey(sample: Sample): string {
  const labels = Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${sample.metricName ?? ''}${JSON.stringify(labels)}`;
}

/** A gauge in prom-client's JSON form, as every worker's snapshot carries its metrics. */
function gauge(name: string, help: string, samples: { labels: Record<string, string>; value: number }[]): MetricObject {
  return { name, help, type: 'gauge', aggregator: 'sum', values: samples } as unknown as MetricObject;
}

/**
 * The cluster primary's part of a server-wide scrape: the counts of the workers that have exited,
 * and how many workers serve, start or failed.
 *
 * A worker's counters end with its process. Summed over the live workers alone, the server's
 * totals would fall at each death, and Prometheus reads a fall as a reset. So the primary keeps
 * each worker's last answer to a scrape and, when the worker exits, adds its counters and
 * histograms to retired totals that every later scrape includes: the server's totals never fall.
 * (What a worker counted after its last scrape is lost with it.) Its gauges are dropped.
 */
export class ClusterMetrics {
  readonly #lastAnswers = new Map<number, MetricObject[]>();
  readonly #retired = new Map<string, RetiredMetric>();

  /** The worker `pid` answered a scrape with `snapshot`. */
  answered(pid: number, snapshot: MetricsSnapshot): void {
    this.#lastAnswers.set(pid, snapshot.filter(carriedAfterExit));
  }

  /** The worker `pid` has exited: its last counts join the retired totals. */
  workerExited(pid: number): void {
    const last = this.#lastAnswers.get(pid) ?? [];
    this.#lastAnswers.delete(pid);
    for (const metric of last) {
      let retired = this.#retired.get(metric.name);
      if (!retired) {
        retired = { name: metric.name, help: metric.help, type: metric.type, samples: new Map() };
        this.#retired.set(metric.name, retired);
      }
      for (const sample of metric.values as Sample[]) {
        const key = seriesKey(sample);
        const total = retired.samples.get(key);
        retired.samples.set(key, { ...sample, value: (total?.value ?? 0) + sample.value });
      }
    }
  }

  /** The primary's own answer to a scrape: the retired totals, and the workers by state. */
  result(counts: WorkerCounts): MetricsSnapshot {
    const retired = [...this.#retired.values()].map(
      ({ name, help, type, samples }) => ({ name, help, type, aggregator: 'sum', values: [...samples.values()] }) as unknown as MetricObject,
    );
    return [
      ...retired,
      gauge('churn_workers', 'Worker processes by state: serving (listening), starting (loading their model), failed (could not start; started again after a back-off).', [
        { labels: { state: 'serving' }, value: counts.serving },
        { labels: { state: 'starting' }, value: counts.starting },
        { labels: { state: 'failed' }, value: counts.failed },
      ]),
      gauge('churn_cluster_degraded', '1 while fewer workers serve than WORKERS asks for (the others are starting, or failing to start); 0 when every one serves.', [
        { labels: {}, value: counts.serving < counts.expected ? 1 : 0 },
      ]),
    ];
  }
}
