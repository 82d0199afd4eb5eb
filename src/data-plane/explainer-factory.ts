import { FEATURE_COUNT } from '../schemas/customer-features.js';
import { readTreeEnsemble } from './onnx-trees.js';
import { TreeExplainer } from './tree-explainer.js';

/** An exact explainer, or why the model has none. */
export type Explanations = { explainer: TreeExplainer; unavailable?: undefined } | { explainer?: undefined; unavailable: string };

/**
 * An exact explainer for the trees in the model file's own bytes, or why there is none. Models
 * that are not tree ensembles still serve, unexplained.
 */
export function explainerFor(bytes: Uint8Array): Explanations {
  const reading = readTreeEnsemble(bytes);
  if ('unavailable' in reading) return { unavailable: reading.unavailable };
  const usedFeatures = reading.ensemble.trees.flatMap((tree) => tree.flatMap((node) => (node.split ? [node.split.feature] : [])));
  if (usedFeatures.some((feature) => feature >= FEATURE_COUNT)) return { unavailable: 'its trees split on features the service does not have' };
  try {
    return { explainer: new TreeExplainer(reading.ensemble, FEATURE_COUNT) };
  } catch (error) {
    // Built on a model's first explained request: a failure here must leave its predictions served.
    return { unavailable: `its explainer could not be built: ${(error as Error).message}` };
  }
}
