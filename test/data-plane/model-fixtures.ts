import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs/light.js';
import { CARD_SHA256_KEY, cardContentSha256, cardPathFor, MODEL_VERSION_KEY } from '../../src/data-plane/model-card-file.js';
import { readOnnxMetadata } from '../../src/data-plane/onnx-trees.js';
import type { ModelCard } from '../../src/schemas/model-card.js';

export const BUNDLED_MODEL = fileURLToPath(new URL('../../models/churn_model.onnx', import.meta.url));

/** A valid churn model without trees (a logistic regression): it loads without building TreeSHAP tables. It has no card. */
export const LINEAR_MODEL = fileURLToPath(new URL('../fixtures/unexplainable-models/linear/churn_model.onnx', import.meta.url));

/** The card beside a model, parsed afresh for each caller to change as it likes; undefined when there is none. */
function cardBeside(modelPath: string): ModelCard | undefined {
  const path = cardPathFor(modelPath);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ModelCard) : undefined;
}

/** The bundled model's card, parsed afresh for each caller to change as it likes. */
export function bundledCard(): ModelCard {
  return cardBeside(BUNDLED_MODEL)!;
}

const METADATA_PROPS_FIELD = 14;
const LENGTH_DELIMITED = 2;

/**
 * The ONNX file's bytes with some metadata_props entries set (a string) or removed (undefined).
 * Only the top-level metadata_props records are rewritten, in the place of the first one; every
 * other byte stays as it was, so the graph is exactly the source's.
 */
export function withMetadata(bytes: Uint8Array, changes: Record<string, string | undefined>): Buffer {
  const properties = new Map(readOnnxMetadata(bytes));
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) properties.delete(key);
    else properties.set(key, value);
  }
  const reader = protobuf.Reader.create(bytes);
  const records: Uint8Array[] = [];
  let metadataAt: number | undefined;
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    reader.skipType(tag & 7);
    if (tag >>> 3 === METADATA_PROPS_FIELD) metadataAt ??= records.length;
    else records.push(bytes.subarray(start, reader.pos));
  }
  const metadata = protobuf.Writer.create();
  for (const [key, value] of properties) {
    metadata
      .uint32((METADATA_PROPS_FIELD << 3) | LENGTH_DELIMITED)
      .fork()
      .uint32((1 << 3) | LENGTH_DELIMITED)
      .string(key)
      .uint32((2 << 3) | LENGTH_DELIMITED)
      .string(value)
      .ldelim();
  }
  records.splice(metadataAt ?? records.length, 0, metadata.finish());
  return Buffer.concat(records);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * A model file and its card bound to each other the way training/train.py releases them: the
 * file's metadata names `version` and the hash of the card's content, the card names the file's
 * sha256 and size. `card` defaults to the bundled card as `version`; the file's graph is `source`'s.
 */
export function releasedModel(version: string, { card = { ...bundledCard(), model_version: version }, source = BUNDLED_MODEL }: { card?: ModelCard; source?: string } = {}) {
  const sourceBytes = readFileSync(source);
  const bind = (cardSha256: string) => withMetadata(sourceBytes, { [MODEL_VERSION_KEY]: version, [CARD_SHA256_KEY]: cardSha256 });
  const sized = { ...card, onnx: { ...card.onnx, size_bytes: bind('0'.repeat(64)).length } };
  const bytes = bind(cardContentSha256(sized));
  return { bytes, card: { ...sized, onnx: { ...sized.onnx, sha256: sha256(bytes) } } };
}

/**
 * Writes `source` as model `version` at `modelPath`. A source with a card (the bundled model) is
 * written with its card rebound to the new file, as a new training run would; a source without one
 * is written alone, and any card beside `modelPath` is removed.
 */
export function writeModelVersion(modelPath: string, version: string, source = BUNDLED_MODEL): void {
  mkdirSync(dirname(modelPath), { recursive: true });
  const sourceCard = cardBeside(source);
  if (sourceCard) {
    const { bytes, card } = releasedModel(version, { source, card: { ...sourceCard, model_version: version } });
    writeFileSync(modelPath, bytes);
    writeFileSync(cardPathFor(modelPath), `${JSON.stringify(card, null, 2)}\n`);
  } else {
    writeFileSync(modelPath, withMetadata(readFileSync(source), { [MODEL_VERSION_KEY]: version }));
    rmSync(cardPathFor(modelPath), { force: true });
  }
}

export interface VersionedModels {
  paths: string[];
  remove: () => void;
}

/**
 * Copies of a model (the bundled one unless `source` says otherwise) as the given versions, each in a directory of its own
 * (see writeModelVersion). Call it in a test or a beforeAll, never at a file's top level or in a describe body: a run that
 * selects none of the file's tests (-t) would still make the copies, and afterAll would never remove them.
 */
export function versionedModels(versions: string[], source = BUNDLED_MODEL): VersionedModels {
  const root = mkdtempSync(join(tmpdir(), 'churn-models-'));
  const paths = versions.map((version, index) => {
    const path = join(root, `model-${index}`, 'churn_model.onnx');
    writeModelVersion(path, version, source);
    return path;
  });
  return { paths, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** A promise with its resolver outside, to hold a run open while a test swaps models. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}
