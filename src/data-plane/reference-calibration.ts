import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ModelLoadError } from '../errors.js';
import { ReferenceCalibration } from '../schemas/reference-calibration.js';

/** Beside the model, under a fixed name as model_card.json is (training/reference_calibration.py writes it). */
export const CALIBRATION_FILE = 'churn_model.calibration.json';

/** Where the reference calibrator of the model at `modelPath` lives. */
export function calibrationPathFor(modelPath: string): string {
  return join(dirname(modelPath), CALIBRATION_FILE);
}

/**
 * The reference calibrator beside the model, or undefined when there is none (estimates then use
 * the raw probabilities, and the performance report says so). One that is there must be the one
 * fitted for this very file (its model_sha256) and a step function the interpolation can use:
 * a stale or broken calibrator is a deployment mistake, refused like a stale card, rather than
 * silently giving other estimates.
 */
export async function readReferenceCalibration(modelPath: string, sha256: string, version: string): Promise<ReferenceCalibration | undefined> {
  const path = calibrationPathFor(modelPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ModelLoadError(`${path} cannot be read: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelLoadError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const problem = Value.Errors(ReferenceCalibration, parsed).First();
  if (problem) throw new ModelLoadError(`${path} is not a reference calibrator: ${problem.path || '/'} ${problem.message}`);
  const calibration = parsed as ReferenceCalibration;
  if (calibration.model_sha256 !== sha256) {
    throw new ModelLoadError(
      `${path} was fitted for another model file (sha256 ${calibration.model_sha256.slice(0, 12)}…), not ${modelPath} (sha256 ${sha256.slice(0, 12)}…): ` +
        'put the calibrator written with this model beside it (training/reference_calibration.py writes one), or remove it to estimate from raw probabilities.',
    );
  }
  if (calibration.model_version !== version) {
    throw new ModelLoadError(`${modelPath} is model ${version} (its ONNX metadata), but ${path} says ${calibration.model_version}.`);
  }
  const { x_thresholds: x, y_thresholds: y } = calibration;
  if (x.length !== y.length) throw new ModelLoadError(`${path} has ${x.length} x_thresholds but ${y.length} y_thresholds.`);
  for (let i = 1; i < x.length; i += 1) {
    // Interpolation divides by x[i] − x[i − 1]; and a decreasing y would reorder the customers the estimate ranks.
    if (!(x[i]! > x[i - 1]!)) throw new ModelLoadError(`${path}: x_thresholds must increase strictly (x[${i}] = ${x[i]} after ${x[i - 1]}).`);
    if (!(y[i]! >= y[i - 1]!)) throw new ModelLoadError(`${path}: y_thresholds must not decrease (y[${i}] = ${y[i]} after ${y[i - 1]}).`);
  }
  return calibration;
}

/** The step function of a calibrator: what calibrate() needs of it. */
export type Calibrator = Pick<ReferenceCalibration, 'x_thresholds' | 'y_thresholds'>;

/**
 * The calibrated probability of `p`: exactly sklearn's IsotonicRegression(out_of_bounds='clip')
 * .predict, that is scipy's linear interp1d over the thresholds after clipping `p` to the first
 * and last one. The segment is found as numpy's searchsorted (left) clipped to [1, n − 1], and the
 * value computed as slope · (p − x_lo) + y_lo in that order, so the result is sklearn's to the bit.
 */
export function calibrate(calibrator: Calibrator, p: number): number {
  const { x_thresholds: x, y_thresholds: y } = calibrator;
  const n = x.length;
  if (n === 1) return y[0]!;
  const clipped = Math.min(Math.max(p, x[0]!), x[n - 1]!);
  // The first index whose threshold is >= clipped (searchsorted, side='left'), by bisection.
  let low = 0;
  let high = n;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (x[middle]! < clipped) low = middle + 1;
    else high = middle;
  }
  const hi = Math.min(Math.max(low, 1), n - 1);
  const lo = hi - 1;
  const slope = (y[hi]! - y[lo]!) / (x[hi]! - x[lo]!);
  return slope * (clipped - x[lo]!) + y[lo]!;
}
