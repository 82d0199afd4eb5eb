import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Which model a snapshot is of: the champion a worker started now serves, or its challenger. */
export type SnapshotRole = 'model' | 'challenger';

/**
 * The primary's record of the model snapshots its workers write (see ModelSnapshotNotice), for
 * the champion and for the challenger. The latest of each role is what a worker started from now
 * on loads, so a replacement serves what its siblings serve even when the files they were loaded
 * from have changed or broken since. A snapshot is discarded once it is the latest of neither role
 * and every worker it was lent to has returned it: a path can come back as the latest (a rollback
 * whose copy failed reports the path its challenger was loaded from), or stand for both roles.
 */
export class ModelSnapshots<Borrower = unknown> {
  readonly #discard: (path: string) => void;
  readonly #latest = new Map<SnapshotRole, string>();
  readonly #lent = new Map<Borrower, readonly string[]>();
  readonly #superseded = new Set<string>();

  /** `discard` removes a snapshot nobody will load any more. */
  constructor(discard: (path: string) => void) {
    this.#discard = discard;
  }

  /** The snapshot of `role` a worker started now loads; undefined until a worker reported one (the champion then loads MODEL_PATH). */
  latest(role: SnapshotRole): string | undefined {
    return this.#latest.get(role);
  }

  /**
   * A worker holds a `role` model now, whose snapshot is at `path`; null when there is none (a
   * champion whose snapshot could not be written, a challenger dropped).
   */
  written(role: SnapshotRole, path: string | null): void {
    const before = this.#latest.get(role);
    if (path === (before ?? null)) return;
    if (before !== undefined) this.#superseded.add(before);
    if (path === null) this.#latest.delete(role);
    else this.#latest.set(role, path);
    this.#discardUnused();
  }

  /** `borrower`, a worker being started, loads the snapshots at `paths`: each is kept until returned (the worker exits). */
  lend(borrower: Borrower, paths: readonly string[]): void {
    if (paths.length > 0) this.#lent.set(borrower, paths);
  }

  /** `borrower` exited: nothing it runs names its snapshots any more. */
  returned(borrower: Borrower): void {
    if (this.#lent.delete(borrower)) this.#discardUnused();
  }

  #discardUnused(): void {
    const inUse = new Set([...this.#latest.values(), ...[...this.#lent.values()].flat()]);
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
