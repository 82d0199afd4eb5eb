import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CollectRequest, WorkerOutcome } from '../../src/cluster/messages.js';
import { Relay } from '../../src/cluster/relay.js';

/**
 * A worker as the primary sees it. Its cluster id and its process pid differ on purpose, as they
 * do in a real cluster: outcomes must name the process.
 */
class FakeWorker {
  readonly sent: CollectRequest[] = [];
  readonly process: { pid: number };
  constructor(
    readonly id: number,
    pid: number,
  ) {
    this.process = { pid };
  }
  send(message: CollectRequest) {
    this.sent.push(message);
  }
  /** This worker's reply to the last request it was sent. */
  answer(result: unknown) {
    return { kind: 'churn:collected' as const, id: this.sent.at(-1)!.id, outcome: { pid: this.process.pid, result } };
  }
}

const request = { topic: 'reload', payload: { reason: 'test' }, timeoutMs: 5000 };

function relayOf(...pids: number[]) {
  const relay = new Relay<FakeWorker>();
  const workers = pids.map((pid, index) => new FakeWorker(index + 1, pid));
  const finished: WorkerOutcome[][] = [];
  return { relay, workers, finished, done: (outcomes: WorkerOutcome[]) => finished.push(outcomes) };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('Relay', () => {
  it('asks every worker and finishes once all have answered, in the order they answered', () => {
    const { relay, workers, finished, done } = relayOf(4101, 4102);
    const [first, second] = workers as [FakeWorker, FakeWorker];
    relay.ask(workers, request, done);
    for (const worker of workers) expect(worker.sent).toEqual([{ kind: 'churn:collect', id: 1, topic: 'reload', payload: { reason: 'test' } }]);
    relay.receive(second, second.answer('b'));
    expect(finished).toEqual([]);
    relay.receive(first, first.answer('a'));
    expect(finished).toEqual([
      [
        { pid: 4102, result: 'b' },
        { pid: 4101, result: 'a' },
      ],
    ]);
    // Its timeout is gone with it.
    expect(vi.getTimerCount()).toBe(0);
  });

  it("reports a worker that does not answer in time by its process pid, never its cluster id", () => {
    const { relay, workers, finished, done } = relayOf(4101, 4102);
    const [first] = workers as [FakeWorker, FakeWorker];
    relay.ask(workers, request, done);
    relay.receive(first, first.answer('a'));
    vi.advanceTimersByTime(4999);
    expect(finished).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(finished).toEqual([
      [
        { pid: 4101, result: 'a' },
        { pid: 4102, error: 'the worker did not answer in time' },
      ],
    ]);
  });

  it('reports a worker that exits instead of answering, and finishes when it was the last one waited for', () => {
    const { relay, workers, finished, done } = relayOf(4101, 4102, 4103);
    const [first, second, third] = workers as [FakeWorker, FakeWorker, FakeWorker];
    relay.ask(workers, request, done);
    relay.receive(first, first.answer('a'));
    relay.workerExited(second);
    expect(finished).toEqual([]);
    relay.workerExited(third);
    expect(finished).toEqual([
      [
        { pid: 4101, result: 'a' },
        { pid: 4102, error: 'the worker exited' },
        { pid: 4103, error: 'the worker exited' },
      ],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('finishes at once with no outcome when there is no worker to ask', () => {
    const { relay, finished, done } = relayOf();
    relay.ask([], request, done);
    expect(finished).toEqual([[]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores duplicate and late replies, replies to unknown relays, and workers it did not ask', () => {
    const { relay, workers, finished, done } = relayOf(4101, 4102, 4103);
    const [first, second, stranger] = workers as [FakeWorker, FakeWorker, FakeWorker];
    relay.ask([first, second], request, done);
    relay.receive(first, first.answer('a'));
    // A second reply from the same worker is not the other worker's answer.
    relay.receive(first, first.answer('again'));
    relay.receive(stranger, { kind: 'churn:collected', id: 1, outcome: { pid: 4103, result: 'uninvited' } });
    relay.receive(second, { kind: 'churn:collected', id: 99, outcome: { pid: 4102, result: 'another relay' } });
    expect(finished).toEqual([]);
    vi.advanceTimersByTime(5000);
    relay.receive(second, second.answer('late'));
    relay.workerExited(second);
    vi.advanceTimersByTime(60_000);
    expect(finished).toEqual([
      [
        { pid: 4101, result: 'a' },
        { pid: 4102, error: 'the worker did not answer in time' },
      ],
    ]);
  });

  it('keeps relays in flight at the same time apart', () => {
    const { relay, workers, finished, done } = relayOf(4101);
    const [worker] = workers as [FakeWorker];
    const drift: WorkerOutcome[][] = [];
    relay.ask(workers, request, done);
    relay.ask(workers, { topic: 'drift', payload: undefined, timeoutMs: 3000 }, (outcomes) => drift.push(outcomes));
    expect(worker.sent.map((message) => [message.id, message.topic])).toEqual([
      [1, 'reload'],
      [2, 'drift'],
    ]);
    relay.receive(worker, { kind: 'churn:collected', id: 2, outcome: { pid: 4101, result: 'counts' } });
    expect(drift).toEqual([[{ pid: 4101, result: 'counts' }]]);
    expect(finished).toEqual([]);
    relay.receive(worker, { kind: 'churn:collected', id: 1, outcome: { pid: 4101, result: 'reloaded' } });
    expect(finished).toEqual([[{ pid: 4101, result: 'reloaded' }]]);
  });
});
