import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChurnModel } from '../../src/data-plane/churn-model.js';
import { MODEL_COMPANION_FILES } from '../../src/data-plane/model-card-file.js';
import { CALIBRATION_FILE, calibrate, calibrationPathFor, readReferenceCalibration } from '../../src/data-plane/reference-calibration.js';
import { ModelLoadError } from '../../src/errors.js';
import type { ReferenceCalibration } from '../../src/schemas/reference-calibration.js';
import { BUNDLED_MODEL, bundledCard } from './model-fixtures.js';

const bundled = JSON.parse(readFileSync(calibrationPathFor(BUNDLED_MODEL), 'utf8')) as ReferenceCalibration;
const bundledSha256 = createHash('sha256').update(readFileSync(BUNDLED_MODEL)).digest('hex');
/** sklearn's IsotonicRegression.predict of the bundled calibrator (training/reference_calibration.py). */
const sklearn = JSON.parse(readFileSync(new URL('../fixtures/reference-calibration.json', import.meta.url), 'utf8')) as {
  model_sha256: string;
  points: { x: number; y: number }[];
};

describe('the bundled reference calibrator', () => {
  it('is the one fitted for the bundled model file, on its 1,409 hold-out customers, and the sklearn fixture is of it', () => {
    expect(bundled.model_sha256).toBe(bundledSha256);
    expect(bundled.model_version).toBe(bundledCard().model_version);
    expect(bundled.fitted_on.rows).toBe(bundledCard().training_data.rows_holdout);
    expect(sklearn.model_sha256).toBe(bundledSha256);
    expect(MODEL_COMPANION_FILES).toContain(CALIBRATION_FILE);
  });

  it('calibrate() equals sklearn\'s predict at every fixture point (thresholds, their neighbours, midpoints, outside the range): within 1e-12, in fact to the bit', () => {
    expect(sklearn.points.length).toBeGreaterThan(2_000);
    let worst = 0;
    let differing = 0;
    for (const { x, y } of sklearn.points) {
      const difference = Math.abs(calibrate(bundled, x) - y);
      worst = Math.max(worst, difference);
      if (difference !== 0) differing += 1;
    }
    expect(worst).toBeLessThan(1e-12);
    expect(differing).toBe(0);
  });

  it('clips outside the thresholds and interpolates linearly between them', () => {
    const step = { x_thresholds: [0.2, 0.4, 0.8], y_thresholds: [0.1, 0.3, 0.3] };
    expect([0, 0.2, 0.3, 0.4, 0.6, 0.8, 1].map((p) => calibrate(step, p))).toEqual([0.1, 0.1, 0.2, 0.3, 0.3, 0.3, 0.3].map((value, index) => (index === 2 ? expect.closeTo(value, 15) : value)));
    expect(calibrate({ x_thresholds: [0.5], y_thresholds: [0.25] }, 0.9)).toBe(0.25);
  });
});

describe('readReferenceCalibration: a calibrator beside the model must be the one fitted for this file', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'churn-calibration-'));
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** The path of a model in a directory of its own, beside `content` as its calibrator (none when undefined). */
  function modelWith(name: string, content: unknown): string {
    const dir = join(scratch, name);
    mkdirSync(dir, { recursive: true });
    if (content !== undefined) writeFileSync(join(dir, CALIBRATION_FILE), typeof content === 'string' ? content : JSON.stringify(content));
    return join(dir, 'churn_model.onnx');
  }
  const read = (path: string) => readReferenceCalibration(path, bundledSha256, bundled.model_version);

  it('reads the calibrator written with the model', async () => {
    await expect(read(modelWith('good', bundled))).resolves.toEqual(bundled);
  });

  it('allows none: the estimate then uses raw probabilities', async () => {
    await expect(read(modelWith('none', undefined))).resolves.toBeUndefined();
  });

  it('refuses one fitted for another model file (a stale companion), saying what to do', async () => {
    const path = modelWith('stale', { ...bundled, model_sha256: 'b'.repeat(64) });
    const failure = read(path);
    await expect(failure).rejects.toBeInstanceOf(ModelLoadError);
    await expect(failure).rejects.toThrow(
      `${join(dirname(path), CALIBRATION_FILE)} was fitted for another model file (sha256 bbbbbbbbbbbb…), not ${path} (sha256 ${bundledSha256.slice(0, 12)}…): put the calibrator written with this model beside it`,
    );
  });

  it('refuses one that names another version than the file', async () => {
    await expect(read(modelWith('version', { ...bundled, model_version: '9.9.9' }))).rejects.toThrow(/is model 1\.2\.0 \(its ONNX metadata\), but .* says 9\.9\.9/);
  });

  it.each([
    ['not JSON', '{"model_sha256": ', /is not valid JSON/],
    ['no y_thresholds', { ...bundled, y_thresholds: undefined }, /is not a reference calibrator: \/y_thresholds/],
    ['a y above 1', { ...bundled, y_thresholds: [...bundled.y_thresholds.slice(0, -1), 1.5] }, /is not a reference calibrator: \/y_thresholds\/33/],
    ['no thresholds', { ...bundled, x_thresholds: [], y_thresholds: [] }, /is not a reference calibrator: \/x_thresholds/],
    ['unequal lengths', { ...bundled, y_thresholds: bundled.y_thresholds.slice(1) }, /has 34 x_thresholds but 33 y_thresholds/],
    ['a repeated x', { ...bundled, x_thresholds: [bundled.x_thresholds[0], ...bundled.x_thresholds.slice(0, -1)] }, /x_thresholds must increase strictly \(x\[1\]/],
    ['a decreasing y', { ...bundled, y_thresholds: [0.5, ...bundled.y_thresholds.slice(1)] }, /y_thresholds must not decrease \(y\[1\] = 0 after 0\.5\)/],
  ])('refuses a malformed one: %s', async (_name, content, message) => {
    const failure = read(modelWith(`malformed-${_name.replaceAll(' ', '-')}`, content));
    await expect(failure).rejects.toBeInstanceOf(ModelLoadError);
    await expect(failure).rejects.toThrow(message);
  });

  it('the loader serves the calibrator with the model, and refuses the model beside a stale one', async () => {
    const dir = join(scratch, 'loaded');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'churn_model.onnx');
    copyFileSync(BUNDLED_MODEL, path);
    copyFileSync(join(dirname(BUNDLED_MODEL), 'model_card.json'), join(dir, 'model_card.json'));
    copyFileSync(calibrationPathFor(BUNDLED_MODEL), join(dir, CALIBRATION_FILE));
    const model = await loadChurnModel(path, { intraOpThreads: 1 });
    try {
      expect(model.calibration).toEqual(bundled);
    } finally {
      await model.close();
    }
    writeFileSync(join(dir, CALIBRATION_FILE), JSON.stringify({ ...bundled, model_sha256: 'c'.repeat(64) }));
    await expect(loadChurnModel(path, { intraOpThreads: 1 })).rejects.toThrow(/was fitted for another model file \(sha256 cccccccccccc…\)/);
    rmSync(join(dir, CALIBRATION_FILE));
    const without = await loadChurnModel(path, { intraOpThreads: 1 });
    try {
      expect(without.calibration).toBeUndefined();
      expect(without.warnings).toEqual([]);
    } finally {
      await without.close();
    }
  });
});
