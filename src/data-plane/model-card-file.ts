import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ModelLoadError } from '../errors.js';
import { FEATURE_NAMES } from '../schemas/customer-features.js';
import { ModelCard } from '../schemas/model-card.js';

const DEFAULT_MODEL_VERSION = '1.0.0';
const VERSION_FILE = 'model_version.txt';
const CARD_FILE = 'model_card.json';

/** The files beside the model that a load reads: a copy of the model must take them along. */
export const MODEL_COMPANION_FILES: readonly string[] = [VERSION_FILE, CARD_FILE];

/** The first line of model_version.txt beside the model, or 1.0.0. */
export async function readVersion(modelPath: string): Promise<string> {
  try {
    const text = (await readFile(join(dirname(modelPath), VERSION_FILE), 'utf8')).trim();
    return text.split(/\r?\n/)[0]?.trim() || DEFAULT_MODEL_VERSION;
  } catch {
    return DEFAULT_MODEL_VERSION;
  }
}

/**
 * The model_card.json beside the model, if there is one. A card must describe this very file
 * (its sha256) and version, or the load fails: a card, reference profile or version from
 * another training run must never be served with this model.
 */
export async function readCard(modelPath: string, sha256: string, version: string): Promise<ModelCard | undefined> {
  const cardPath = join(dirname(modelPath), CARD_FILE);
  let text: string;
  try {
    text = await readFile(cardPath, 'utf8');
  } catch {
    return undefined;
  }
  let card: unknown;
  try {
    card = JSON.parse(text);
  } catch (error) {
    throw new ModelLoadError(`${cardPath} is not valid JSON: ${(error as Error).message}`);
  }
  const problem = Value.Errors(ModelCard, card).First();
  if (problem) throw new ModelLoadError(`${cardPath} is not a model card: ${problem.path || '/'} ${problem.message}`);
  const valid = card as ModelCard;
  if (valid.onnx.sha256 !== sha256) {
    throw new ModelLoadError(
      `${cardPath} describes another model file (sha256 ${valid.onnx.sha256.slice(0, 12)}…), not ${modelPath} (sha256 ${sha256.slice(0, 12)}…): ` +
        'put the card that came with this model beside it, or remove the card.',
    );
  }
  if (valid.model_version !== version) {
    throw new ModelLoadError(`model_version.txt beside ${modelPath} says ${version}, but its model card says ${valid.model_version}.`);
  }
  const names = valid.features.map((feature) => feature.name);
  if (names.join() !== FEATURE_NAMES.join()) {
    throw new ModelLoadError(`${cardPath} lists the features ${names.join(', ')}, not this service's ${FEATURE_NAMES.join(', ')}.`);
  }
  const drift = valid.drift_reference;
  const profiles = drift.features.map((profile) => profile.name);
  if (profiles.join() !== FEATURE_NAMES.join()) {
    throw new ModelLoadError(`${cardPath} has a drift reference for ${profiles.join(', ')}, not for this service's ${FEATURE_NAMES.join(', ')}.`);
  }
  for (const profile of [...drift.features, drift.score]) {
    const expected = profile.kind === 'bins' ? profile.edges.length + 1 : profile.values.length;
    if (profile.shares.length !== expected) throw new ModelLoadError(`${cardPath}: the drift reference of ${profile.name} has ${profile.shares.length} shares for ${expected} bins.`);
  }
  return valid;
}
