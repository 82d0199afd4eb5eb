import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ModelLoadError } from '../errors.js';
import { FEATURE_NAMES } from '../schemas/customer-features.js';
import { ModelCard } from '../schemas/model-card.js';
import { readOnnxMetadata } from './onnx-trees.js';
import { CALIBRATION_FILE } from './reference-calibration.js';

const CARD_FILE = 'model_card.json';

/** The files beside the model that a load reads: a copy of the model must take them along. */
export const MODEL_COMPANION_FILES: readonly string[] = [CARD_FILE, CALIBRATION_FILE];

/** metadata_props entry holding the model's version (written by training/train.py). */
export const MODEL_VERSION_KEY = 'model_version';
/** metadata_props entry holding the sha256 of the card's canonical content (training/card_binding.py). */
export const CARD_SHA256_KEY = 'model_card_sha256';

/** Who a model file says it is, from its own ONNX metadata. */
export interface ModelIdentity {
  version: string;
  /** The hash of the card the model was released with; undefined for a model exported without one. */
  cardSha256: string | undefined;
}

/**
 * The version and card hash recorded in a model file's ONNX metadata_props. A file without a
 * version cannot be served: nothing else says which model it is.
 */
export function readModelIdentity(bytes: Uint8Array, modelPath: string): ModelIdentity {
  let properties: ReadonlyMap<string, string>;
  try {
    properties = readOnnxMetadata(bytes);
  } catch (error) {
    throw new ModelLoadError(`Model at ${modelPath} has unreadable ONNX metadata: ${(error as Error).message}`);
  }
  const version = properties.get(MODEL_VERSION_KEY)?.trim();
  if (!version) {
    throw new ModelLoadError(
      `Model at ${modelPath} has no ${MODEL_VERSION_KEY} in its ONNX metadata_props, so nothing says which model it is: export it with training/train.py, which records it.`,
    );
  }
  return { version, cardSha256: properties.get(CARD_SHA256_KEY) };
}

/** The version recorded in the model file at `modelPath` (what `churn-serve --version` prints). */
export async function readModelVersion(modelPath: string): Promise<string> {
  return readModelIdentity(await readFile(modelPath), modelPath).version;
}

/**
 * RFC 8785 canonical JSON (JCS) of a value parsed from JSON: members sorted by UTF-16 code units,
 * no whitespace, numbers as ECMAScript writes them. training/card_binding.py writes the same bytes.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * sha256 of a card's canonical content: the card without `onnx.sha256`, the one field that names
 * the file which in turn records this hash.
 */
export function cardContentSha256(card: ModelCard): string {
  const { sha256: _fileHash, ...onnx } = card.onnx;
  return createHash('sha256').update(canonicalJson({ ...card, onnx }), 'utf8').digest('hex');
}

/** Where the card of the model at `modelPath` lives. */
export function cardPathFor(modelPath: string): string {
  return join(dirname(modelPath), CARD_FILE);
}

/**
 * The model_card.json beside the model, or undefined when there is none. A card must be the one
 * released with this very file, checked both ways: the card names the file's sha256, and the file
 * names the hash of the card's content, so a card from another run, or one edited since, is
 * refused. Its version must be the file's own.
 */
export async function readCard(modelPath: string, sha256: string, identity: ModelIdentity): Promise<ModelCard | undefined> {
  const cardPath = cardPathFor(modelPath);
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
        'put the card that was written with this model beside it.',
    );
  }
  if (identity.cardSha256 === undefined) {
    throw new ModelLoadError(
      `${modelPath} records no ${CARD_SHA256_KEY} in its ONNX metadata, so nothing proves ${cardPath} is the card it was released with: ` +
        'export the model and its card together with training/train.py.',
    );
  }
  const contentSha256 = cardContentSha256(valid);
  if (contentSha256 !== identity.cardSha256) {
    throw new ModelLoadError(
      `${cardPath} has been changed since training: its content hashes to ${contentSha256.slice(0, 12)}…, but ${modelPath} was released with a card hashing to ` +
        `${identity.cardSha256.slice(0, 12)}… (${CARD_SHA256_KEY} in its ONNX metadata). Put back the card that was written with this model; ` +
        'a card is changed only by training a new model.',
    );
  }
  if (valid.model_version !== identity.version) {
    throw new ModelLoadError(`${modelPath} is model ${identity.version} (its ONNX metadata), but ${cardPath} says ${valid.model_version}.`);
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
