import { FEATURE_COUNT, FEATURE_NAMES, type ModelFeatures } from '../schemas/customer-features.js';

/** Packs customers row-major in the model's column order, ready for one tensor. */
export function packFeatures(customers: readonly ModelFeatures[]): Float32Array {
  const packed = new Float32Array(customers.length * FEATURE_COUNT);
  customers.forEach((customer, row) => {
    FEATURE_NAMES.forEach((name, column) => {
      packed[row * FEATURE_COUNT + column] = customer[name];
    });
  });
  return packed;
}
