import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The primary's record of the model snapshots its workers write (see ModelSnapshotNotice). The
 * latest one is what every worker started from now on loads, so a replacement serves what its
 * siblings serve even when the file at MODEL_PATH has changed or broken since. A snapshot that is
 * no longer the latest is discarded once every worker it was lent to has returned it.
 */
export class ModelSnapshots<Borrower = unknown> {
  readonly #discard: (path: string) => void;
  readonly #lent = new Map<Borrower, string>();
  readonly #superseded = new Set<string>();
  #latest: string | undefined;

  /** `discard` removes a snapshot nobody will load any more. */
  constructor(discard: (path: string) => void) {
    this.#discard = discard;
  }

  /** The snapshot a worker started now loads; undefined until a worker has written one (it then loads MODEL_PATH). */
  get latest(): string | undefined {
    return this.#latest;
  }

  /**
   * A worker wrote a snapshot at `path` of the model it has just loaded; null when it could not,
   * and then no older snapshot stands for what it serves now.
   */
  written(path: string | null): void {
    if (path === this.#latest) return;
    if (this.#latest !== undefined) this.#superseded.add(this.#latest);
    this.#latest = path ?? undefined;
    this.#discardUnused();
  }

  /** `borrower`, a worker being started, loads the snapshot at `path`: it is kept until returned (the worker exits). */
  lend(borrower: Borrower, path: string): void {
    this.#lent.set(borrower, path);
  }

  /** `borrower` exited: nothing it runs names the snapshot any more. */
  returned(borrower: Borrower): void {
    if (this.#lent.delete(borrower)) this.#discardUnused();
  }

  #discardUnused(): void {
    const inUse = new Set(this.#lent.values());
    for (const path of this.#superseded) {
      if (inUse.has(path)) continue;
      this.#superseded.delete(path);
      this.#discard(path);
    }
  }
}

/** A directory of the primary's own for its workers' model snapshots, removed when the primary exits. */
export interface SnapshotDirectory {
  readonly path: string;
  /** Removes the snapshot whose model file is `modelPath`; only ever one inside this directory. */
  discard(modelPath: string): void;
}

export function createSnapshotDirectory(): SnapshotDirectory {
  const path = mkdtempSync(join(tmpdir(), 'churn-model-snapshots-'));
  process.once('exit', () => rmSync(path, { recursive: true, force: true }));
  return {
    path,
    discard: (modelPath) => {
      // A snapshot is one directory directly inside this one: its model file and the files beside it.
      const snapshot = dirname(modelPath);
      if (dirname(snapshot) === path) rmSync(snapshot, { recursive: true, force: true });
    },
  };
}
