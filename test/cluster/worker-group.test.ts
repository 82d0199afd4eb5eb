import { EventEmitter } from 'node:events';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ClusterMessage, WorkerOutcome } from '../../src/cluster/messages.js';
import type { MetricsSnapshot } from '../../src/metrics/service-metrics.js';
import { WorkerGroup } from '../../src/cluster/worker-group.js';

/** A worker's IPC channel, with the primary's side in `sent` and `deliver`. */
class FakeChannel extends EventEmitter {
  sent: ClusterMessage[] = [];
  send(message: ClusterMessage) {
    this.sent.push(message);
    return true;
  }
  deliver(message: unknown) {
    this.emit('message', message);
  }
}

/** Topics of these tests alone: the group is the same for any catalogue. */
interface TestTopics {
  double: { payload: number; result: number };
  fail: { payload: undefined; result: never };
  unknown: { payload: undefined; result: never };
  metrics: { payload: { x: number } | undefined; result: string };
  reload: { payload: undefined; result: { model_version: string } };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('WorkerGroup', () => {
  it('answers a gather by itself when the process runs alone', async () => {
    const group = new WorkerGroup<TestTopics>(undefined);
    group.onCollect('double', (payload) => payload * 2);
    expect(group.clustered).toBe(false);
    expect(await group.gather('double', 21, 1000)).toEqual([{ pid: process.pid, result: 42 }]);
  });

  it('reports a collector that throws, and a topic nobody answers', async () => {
    const group = new WorkerGroup<TestTopics>(undefined);
    group.onCollect('fail', async () => {
      throw new Error('model file is broken');
    });
    expect(await group.gather('fail', undefined, 1000)).toEqual([{ pid: process.pid, error: 'model file is broken' }]);
    expect(await group.gather('unknown', undefined, 1000)).toEqual([{ pid: process.pid, error: 'nothing answers "unknown" in this worker' }]);
  });

  it('asks the primary in a cluster, and resolves with what it relays back', async () => {
    const channel = new FakeChannel();
    const group = new WorkerGroup<TestTopics>(channel);
    expect(group.clustered).toBe(true);
    const gathering = group.gather('metrics', { x: 1 }, 2500);
    expect(channel.sent).toEqual([{ kind: 'churn:gather', id: 1, topic: 'metrics', payload: { x: 1 }, timeoutMs: 2500 }]);
    channel.deliver({ kind: 'churn:gathered', id: 99, outcomes: [] });
    channel.deliver({ kind: 'churn:gathered', id: 1, outcomes: [{ pid: 1, result: 'a' }, { pid: 2, error: 'b' }] });
    expect(await gathering).toEqual([{ pid: 1, result: 'a' }, { pid: 2, error: 'b' }]);
    group.close();
  });

  it('answers the primary\'s collect requests with its own outcome', async () => {
    const channel = new FakeChannel();
    const group = new WorkerGroup<TestTopics>(channel);
    group.onCollect('reload', async () => ({ model_version: '2.0.0' }));
    channel.deliver({ kind: 'churn:collect', id: 7, topic: 'reload', payload: undefined });
    channel.deliver('an unrelated message');
    channel.deliver({ kind: 'other', id: 8 });
    await nextTurn();
    expect(channel.sent).toEqual([{ kind: 'churn:collected', id: 7, outcome: { pid: process.pid, result: { model_version: '2.0.0' } } }]);
    group.close();
    channel.deliver({ kind: 'churn:collect', id: 9, topic: 'reload', payload: undefined });
    await nextTurn();
    expect(channel.sent).toHaveLength(1);
  });

  it('answers a change of the models asked while it starts only once it has started up; other topics at once', async () => {
    const channel = new FakeChannel();
    const group = new WorkerGroup<TestTopics>(channel);
    const order: string[] = [];
    group.onCollect('reload', async () => (order.push('reload'), { model_version: '2.0.0' }), { afterStartUp: true });
    group.onCollect('double', (payload) => (order.push('double'), payload * 2));
    channel.deliver({ kind: 'churn:collect', id: 1, topic: 'reload', payload: undefined });
    channel.deliver({ kind: 'churn:collect', id: 2, topic: 'double', payload: 2 });
    await nextTurn();
    expect(order).toEqual(['double']);
    expect(channel.sent.map((message) => (message as { id: number }).id)).toEqual([2]);
    order.push('start-up loads done');
    group.startedUp();
    await nextTurn();
    expect(order).toEqual(['double', 'start-up loads done', 'reload']);
    expect(channel.sent.at(-1)).toEqual({ kind: 'churn:collected', id: 1, outcome: { pid: process.pid, result: { model_version: '2.0.0' } } });
    // Once started up, it answers at once.
    channel.deliver({ kind: 'churn:collect', id: 3, topic: 'reload', payload: undefined });
    await nextTurn();
    expect(channel.sent.at(-1)).toMatchObject({ id: 3 });
    group.close();
  });

  it('keeps how the cluster stands as the primary last told, and tells the primary of model snapshots', () => {
    const channel = new FakeChannel();
    const group = new WorkerGroup<TestTopics>(channel);
    expect(group.counts).toBeUndefined();
    channel.deliver({ kind: 'churn:worker-counts', counts: { expected: 2, serving: 1, starting: 1, failed: 0 } });
    channel.deliver({ kind: 'churn:worker-counts', counts: { expected: 2, serving: 1, starting: 0, failed: 1 } });
    expect(group.counts).toEqual({ expected: 2, serving: 1, starting: 0, failed: 1 });
    group.modelSnapshotWritten('/snapshots/model-a/churn_model.onnx');
    group.modelSnapshotWritten(null);
    expect(channel.sent).toEqual([
      { kind: 'churn:model-snapshot', path: '/snapshots/model-a/churn_model.onnx' },
      { kind: 'churn:model-snapshot', path: null },
    ]);
    group.close();

    const alone = new WorkerGroup<TestTopics>(undefined);
    expect(alone.counts).toBeUndefined();
    expect(() => alone.modelSnapshotWritten('/snapshots/model-a/churn_model.onnx')).not.toThrow();
  });

  it('resolves pending gathers with nothing when closed', async () => {
    const channel = new FakeChannel();
    const group = new WorkerGroup<TestTopics>(channel);
    const gathering = group.gather('metrics', undefined, 1000);
    group.close();
    expect(await gathering).toEqual([]);
  });

  // Checked by `npm run typecheck`: consumers rely on these types instead of casting results.
  it("types the service's topics by their payloads and results", () => {
    const group = new WorkerGroup(undefined);
    expectTypeOf<Awaited<ReturnType<typeof group.gather<'reload'>>>>().toEqualTypeOf<WorkerOutcome<{ model_version: string }>[]>();
    expectTypeOf<Awaited<ReturnType<typeof group.gather<'metrics'>>>>().toEqualTypeOf<WorkerOutcome<MetricsSnapshot>[]>();
    // @ts-expect-error a reload answers with the model version it now serves
    group.onCollect('reload', () => ({ version: '2.0.0' }));
    // @ts-expect-error only the service's topics can be gathered
    void group.gather('nonsense', undefined, 1000);
    group.close();
  });
});
