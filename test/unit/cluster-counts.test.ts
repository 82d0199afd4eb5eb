import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isCountRequest, PrimaryCountClient, primaryCountStore, PrimaryCounts, type CountChannel, type CountRequest } from '../../src/rate-limit/cluster-counts.js';
import type { WindowCount } from '../../src/rate-limit/window-counts.js';

type Primary = (request: CountRequest) => unknown;

/** A worker's IPC channel whose messages reach `primary` (as the supervisor's handler), asynchronously as over a pipe. */
function workerChannel(primary: Primary, sendError?: Error): CountChannel & EventEmitter {
  const channel = new EventEmitter() as CountChannel & EventEmitter;
  channel.send = (message, _handle, _options, callback) => {
    setImmediate(() => {
      callback?.(sendError ?? null);
      if (sendError) return;
      const answer = primary(message);
      if (answer !== undefined) channel.emit('message', answer);
    });
    return true;
  };
  return channel;
}

const answeredBy = (counts: PrimaryCounts): Primary => (request) => (isCountRequest(request) ? counts.answer(request) : undefined);

afterEach(() => {
  vi.useRealTimers();
});

describe('counts kept by the cluster primary', () => {
  it('adds up the requests of every worker, each key apart', async () => {
    const counts = new PrimaryCounts();
    const [first, second] = [new PrimaryCountClient(workerChannel(answeredBy(counts))), new PrimaryCountClient(workerChannel(answeredBy(counts)))];
    expect((await first.hit('key:a', 60_000)).current).toBe(1);
    expect((await second.hit('key:a', 60_000)).current).toBe(2);
    const [third, fourth] = await Promise.all([first.hit('key:a', 60_000), second.hit('key:a', 60_000)]);
    expect([third.current, fourth.current].sort()).toEqual([3, 4]);
    const other = await second.hit('address:10.0.0.1', 60_000);
    expect(other.current).toBe(1);
    expect(other.ttl).toBeGreaterThan(0);
    expect(other.ttl).toBeLessThanOrEqual(60_000);
    first.close();
    second.close();
  });

  it('answers each request by its id, and ignores other messages on the channel', async () => {
    const counts = new PrimaryCounts();
    const channel = workerChannel(answeredBy(counts));
    const client = new PrimaryCountClient(channel);
    const pending = client.hit('key:a', 60_000);
    channel.emit('message', { kind: 'churn:collect', id: 1, topic: 'metrics', payload: undefined });
    channel.emit('message', { kind: 'rate-limit:count', id: 999, current: 1_000, ttl: 1 });
    expect(await pending).toEqual({ current: 1, ttl: 60_000 });
    client.close();
  });

  it('fails a count the primary does not answer in time, or that cannot be sent', async () => {
    vi.useFakeTimers();
    const silent = new PrimaryCountClient(workerChannel(() => undefined), 1_000);
    const unanswered = silent.hit('key:a', 60_000);
    const failure = expect(unanswered).rejects.toThrow('the cluster primary did not count a request within 1000 ms');
    await vi.advanceTimersByTimeAsync(1_000);
    await failure;
    silent.close();
    vi.useRealTimers();
    const closed = new PrimaryCountClient(workerChannel(() => undefined, new Error('channel closed')));
    await expect(closed.hit('key:a', 60_000)).rejects.toThrow('channel closed');
    closed.close();
    const alone = new PrimaryCountClient({ on: () => undefined, off: () => undefined });
    await expect(alone.hit('key:a', 60_000)).rejects.toThrow('this process has no channel to a cluster primary');
  });

  it('close fails the counts still awaited and any asked for later, and stops listening', async () => {
    const channel = workerChannel(() => undefined);
    const client = new PrimaryCountClient(channel);
    const pending = client.hit('key:a', 60_000);
    expect(channel.listenerCount('message')).toBe(1);
    client.close();
    await expect(pending).rejects.toThrow('the rate-limit store is closed');
    expect(channel.listenerCount('message')).toBe(0);
  });

  it('serves @fastify/rate-limit as its store; a route with its own limit counts apart', async () => {
    const counts = new PrimaryCounts();
    const client = new PrimaryCountClient(workerChannel(answeredBy(counts)));
    const Store = primaryCountStore(client);
    const store = new Store({});
    const incr = (target: InstanceType<typeof Store>, key: string) =>
      new Promise<WindowCount>((resolve, reject) => target.incr(key, (error, result) => (error ? reject(error) : resolve(result!)), 60_000, 10));
    expect((await incr(store, 'key:a')).current).toBe(1);
    expect((await incr(new Store({}), 'key:a')).current).toBe(2);
    const routeStore = store.child({ method: 'POST', url: '/predict' } as Parameters<typeof store.child>[0]);
    expect((await incr(routeStore, 'key:a')).current).toBe(1);
    client.close();
    await expect(incr(store, 'key:a')).rejects.toThrow('the rate-limit store is closed');
  });
});
