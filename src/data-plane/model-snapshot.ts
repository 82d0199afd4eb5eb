import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ServedModel } from './model.js';

/** The bytes of the file at `path`, or undefined when there is none. */
async function readIfPresent(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * writeModelSnapshot, or null when it fails, after `failed` has heard why: a worker started later
 * then loads the model from the path this one loaded it from.
 */
export async function tryModelSnapshot(model: Pick<ServedModel, 'path' | 'sha256'>, directory: string, companions: readonly string[], failed: (error: unknown) => void): Promise<string | null> {
  try {
    return await writeModelSnapshot(model, directory, companions);
  } catch (error) {
    failed(error);
    return null;
  }
}

/** Removes a snapshot that writeModelSnapshot wrote (its directory) and nothing will load. */
export async function discardModelSnapshot(modelFile: string): Promise<void> {
  await rm(dirname(modelFile), { recursive: true, force: true });
}

/**
 * Writes a snapshot of `model` into a new directory inside `directory`: the model file under its
 * own name, and beside it the `companions` (the other files a load reads) that exist, so that
 * loading the snapshot gives the same model. Resolves with the snapshot's model file.
 *
 * Throws when the file at `model.path` no longer holds the bytes that were loaded (it was replaced
 * since): a snapshot must be of the model being served, never of whatever the file holds now.
 */
export async function writeModelSnapshot(model: Pick<ServedModel, 'path' | 'sha256'>, directory: string, companions: readonly string[]): Promise<string> {
  const bytes = await readFile(model.path);
  if (createHash('sha256').update(bytes).digest('hex') !== model.sha256) {
    throw new Error(`${model.path} has changed since its model was loaded`);
  }
  const snapshot = await mkdtemp(join(directory, 'model-'));
  try {
    const modelFile = join(snapshot, basename(model.path));
    await writeFile(modelFile, bytes);
    for (const name of companions) {
      const companion = await readIfPresent(join(dirname(model.path), name));
      if (companion) await writeFile(join(snapshot, name), companion);
    }
    return modelFile;
  } catch (error) {
    await rm(snapshot, { recursive: true, force: true });
    throw error;
  }
}
