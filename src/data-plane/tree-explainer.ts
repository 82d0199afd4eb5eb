import type { BranchMode, Tree, TreeEnsemble } from './onnx-trees.js';

/** One row's explanation, in the model's raw output (log-odds of churn). */
export interface RowExplanation {
  /** The expected raw output over the training data. */
  baseValue: number;
  /** One SHAP value per feature, in the model's column order; baseValue + their sum = the row's raw output. */
  shap: Float64Array;
}

/**
 * Trees with at most this many splits are explained by table lookup; bigger ones run Algorithm 2 per row.
 * A table holds 2^splits patterns: without this limit one deep tree would take gigabytes at load.
 */
export const MAX_TABLE_SPLITS = 10;

/**
 * Exact path-dependent TreeSHAP for one tree: Algorithm 2 of Lundberg, Erion and Lee, "Consistent
 * individualized feature attribution for tree ensembles" (2018), as the shap library's
 * TreeExplainer runs it with feature_perturbation="tree_path_dependent", following its C++
 * (tree_shap_recursive, extend_path, unwind_path, unwound_path_sum). The "unique path" of each
 * depth lives in slices of preallocated arrays, so a call allocates nothing per node.
 */
class PathDependentShap {
  readonly #feature: Int32Array;
  readonly #zero: Float64Array;
  readonly #one: Float64Array;
  readonly #weight: Float64Array;

  constructor(private readonly tree: Tree) {
    const depth = maxDepth(tree);
    const slots = ((depth + 2) * (depth + 3)) / 2;
    this.#feature = new Int32Array(slots);
    this.#zero = new Float64Array(slots);
    this.#one = new Float64Array(slots);
    this.#weight = new Float64Array(slots);
  }

  /** Adds the tree's SHAP values for a row, which enters only through the side it takes at each split. */
  run(goesTrue: (nodeId: number) => boolean, phi: Float64Array): void {
    this.#recurse(goesTrue, phi, 0, 0, 0, 1, 1, -1);
  }

  #extend(start: number, depth: number, zeroFraction: number, oneFraction: number, feature: number): void {
    const weight = this.#weight;
    this.#feature[start + depth] = feature;
    this.#zero[start + depth] = zeroFraction;
    this.#one[start + depth] = oneFraction;
    weight[start + depth] = depth === 0 ? 1 : 0;
    for (let i = depth - 1; i >= 0; i -= 1) {
      weight[start + i + 1]! += (oneFraction * weight[start + i]! * (i + 1)) / (depth + 1);
      weight[start + i] = (zeroFraction * weight[start + i]! * (depth - i)) / (depth + 1);
    }
  }

  #unwind(start: number, depth: number, index: number): void {
    const weight = this.#weight;
    const oneFraction = this.#one[start + index]!;
    const zeroFraction = this.#zero[start + index]!;
    let nextOnePortion = weight[start + depth]!;
    for (let i = depth - 1; i >= 0; i -= 1) {
      if (oneFraction !== 0) {
        const kept = weight[start + i]!;
        weight[start + i] = (nextOnePortion * (depth + 1)) / ((i + 1) * oneFraction);
        nextOnePortion = kept - (weight[start + i]! * zeroFraction * (depth - i)) / (depth + 1);
      } else {
        weight[start + i] = (weight[start + i]! * (depth + 1)) / (zeroFraction * (depth - i));
      }
    }
    for (let i = index; i < depth; i += 1) {
      this.#feature[start + i] = this.#feature[start + i + 1]!;
      this.#zero[start + i] = this.#zero[start + i + 1]!;
      this.#one[start + i] = this.#one[start + i + 1]!;
    }
  }

  #unwoundSum(start: number, depth: number, index: number): number {
    const weight = this.#weight;
    const oneFraction = this.#one[start + index]!;
    const zeroFraction = this.#zero[start + index]!;
    let nextOnePortion = weight[start + depth]!;
    let total = 0;
    if (oneFraction !== 0) {
      for (let i = depth - 1; i >= 0; i -= 1) {
        const share = nextOnePortion / ((i + 1) * oneFraction);
        total += share;
        nextOnePortion = weight[start + i]! - share * zeroFraction * (depth - i);
      }
    } else {
      for (let i = depth - 1; i >= 0; i -= 1) total += weight[start + i]! / (zeroFraction * (depth - i));
    }
    return total * (depth + 1);
  }

  #recurse(
    goesTrue: (nodeId: number) => boolean,
    phi: Float64Array,
    nodeId: number,
    parentStart: number,
    depth: number,
    zeroFraction: number,
    oneFraction: number,
    feature: number,
  ): void {
    // This node's unique path: a copy of the parent's, one slice further on, then extended.
    const start = parentStart + depth;
    this.#feature.copyWithin(start, parentStart, parentStart + depth);
    this.#zero.copyWithin(start, parentStart, parentStart + depth);
    this.#one.copyWithin(start, parentStart, parentStart + depth);
    this.#weight.copyWithin(start, parentStart, parentStart + depth);
    this.#extend(start, depth, zeroFraction, oneFraction, feature);

    const node = this.tree[nodeId]!;
    if (!node.split) {
      for (let i = 1; i <= depth; i += 1) {
        const weight = this.#unwoundSum(start, depth, i);
        phi[this.#feature[start + i]!]! += weight * (this.#one[start + i]! - this.#zero[start + i]!) * node.value!;
      }
      return;
    }
    const { split } = node;
    const [hot, cold] = goesTrue(nodeId) ? [split.whenTrue, split.whenFalse] : [split.whenFalse, split.whenTrue];
    let incomingZero = 1;
    let incomingOne = 1;
    let pathDepth = depth;
    for (let index = 0; index <= depth; index += 1) {
      if (this.#feature[start + index] === split.feature) {
        // A feature split on again: undo its earlier extension and redo it here.
        incomingZero = this.#zero[start + index]!;
        incomingOne = this.#one[start + index]!;
        this.#unwind(start, depth, index);
        pathDepth -= 1;
        break;
      }
    }
    this.#recurse(goesTrue, phi, hot, start, pathDepth + 1, (this.tree[hot]!.cover / node.cover) * incomingZero, incomingOne, split.feature);
    this.#recurse(goesTrue, phi, cold, start, pathDepth + 1, (this.tree[cold]!.cover / node.cover) * incomingZero, 0, split.feature);
  }
}

function maxDepth(tree: Tree, nodeId = 0): number {
  const { split } = tree[nodeId]!;
  return split ? 1 + Math.max(maxDepth(tree, split.whenTrue), maxDepth(tree, split.whenFalse)) : 0;
}

/** Algorithm 2 for one tree and one row, adding to `phi`. */
export function treeShap(tree: Tree, goesTrue: (nodeId: number) => boolean, phi: Float64Array): void {
  new PathDependentShap(tree).run(goesTrue, phi);
}

/** The cover-weighted mean of a tree's leaves: its expected output over the training data. */
function expectedValue(tree: Tree, nodeId = 0): number {
  const node = tree[nodeId]!;
  if (!node.split) return node.value!;
  const { whenTrue, whenFalse } = node.split;
  return (tree[whenTrue]!.cover * expectedValue(tree, whenTrue) + tree[whenFalse]!.cover * expectedValue(tree, whenFalse)) / node.cover;
}

const MODE_CODES: Record<BranchMode, number> = { BRANCH_LEQ: 0, BRANCH_LT: 1, BRANCH_GTE: 2, BRANCH_GT: 3, BRANCH_EQ: 4, BRANCH_NEQ: 5 };

/** The side of a split a float32 feature value takes, exactly as onnxruntime compares it. */
function takesTrueBranch(mode: number, value: number, threshold: number): boolean {
  switch (mode) {
    case 0:
      return value <= threshold;
    case 1:
      return value < threshold;
    case 2:
      return value >= threshold;
    case 3:
      return value > threshold;
    case 4:
      return value === threshold;
    default:
      return value !== threshold;
  }
}

/**
 * Explains rows of the loaded model exactly, with the trees onnxruntime runs.
 *
 * A tree's SHAP values depend on a row only through the side it takes at each split, so with k
 * splits there are 2^k patterns. For every tree of up to MAX_TABLE_SPLITS splits, Algorithm 2 runs
 * once per pattern when the model loads, and the table keeps the values of the features the tree
 * uses (every other feature's value is 0 in that tree). Explaining a row is then k comparisons
 * and one table read per tree, in flat typed arrays. Bigger trees run Algorithm 2 for each row.
 */
export class TreeExplainer {
  readonly baseValue: number;
  readonly #featureCount: number;
  /** Per tabled tree: how many splits, how many features it uses, and where its table starts. */
  readonly #splitCounts: Int32Array;
  readonly #usedCounts: Int32Array;
  readonly #tableOffsets: Int32Array;
  /** Per split, in tree order: the feature, the mode code and the threshold. */
  readonly #splitFeatures: Int32Array;
  readonly #splitModes: Uint8Array;
  readonly #splitThresholds: Float64Array;
  /** Per tabled tree, in tree order: the features it uses. */
  readonly #usedFeatures: Int32Array;
  /** Per tabled tree, per pattern: the SHAP value of each feature it uses. */
  readonly #tables: Float64Array;
  readonly #directTrees: { tree: Tree; shap: PathDependentShap }[] = [];
  /** Every tabled split is `x <= threshold` (what scikit-learn exports): the loop skips the mode. */
  readonly #allLessOrEqual: boolean;

  constructor(ensemble: TreeEnsemble, featureCount: number) {
    this.#featureCount = featureCount;
    this.baseValue = ensemble.trees.reduce((sum, tree) => sum + expectedValue(tree), ensemble.baseScore);
    const tabled: { tree: Tree; splits: number[]; used: number[] }[] = [];
    for (const tree of ensemble.trees) {
      const splits = tree.flatMap((node, nodeId) => (node.split ? [nodeId] : []));
      const used = [...new Set(splits.map((nodeId) => tree[nodeId]!.split!.feature))].sort((a, b) => a - b);
      if (splits.length <= MAX_TABLE_SPLITS) tabled.push({ tree, splits, used });
      else this.#directTrees.push({ tree, shap: new PathDependentShap(tree) });
    }
    this.#splitCounts = Int32Array.from(tabled, ({ splits }) => splits.length);
    this.#usedCounts = Int32Array.from(tabled, ({ used }) => used.length);
    this.#usedFeatures = Int32Array.from(tabled.flatMap(({ used }) => used));
    this.#tableOffsets = new Int32Array(tabled.length);
    const allSplits = tabled.flatMap(({ tree, splits }) => splits.map((nodeId) => tree[nodeId]!.split!));
    this.#splitFeatures = Int32Array.from(allSplits, (split) => split.feature);
    this.#splitModes = Uint8Array.from(allSplits, (split) => MODE_CODES[split.mode]);
    this.#splitThresholds = Float64Array.from(allSplits, (split) => split.threshold);
    this.#allLessOrEqual = this.#splitModes.every((mode) => mode === MODE_CODES.BRANCH_LEQ);
    this.#tables = new Float64Array(tabled.reduce((sum, { splits, used }) => sum + 2 ** splits.length * used.length, 0));

    const phi = new Float64Array(featureCount);
    let tableOffset = 0;
    tabled.forEach(({ tree, splits, used }, treeIndex) => {
      const bitOf = new Map(splits.map((nodeId, bit) => [nodeId, bit]));
      const shap = new PathDependentShap(tree);
      this.#tableOffsets[treeIndex] = tableOffset;
      for (let pattern = 0; pattern < 2 ** splits.length; pattern += 1) {
        phi.fill(0);
        shap.run((nodeId) => (pattern & (1 << bitOf.get(nodeId)!)) !== 0, phi);
        used.forEach((feature, slot) => (this.#tables[tableOffset + slot] = phi[feature]!));
        tableOffset += used.length;
      }
    });
  }

  /** What the tables built at load take in memory. */
  get tableBytes(): number {
    return this.#tables.byteLength;
  }

  /** `row`: the feature values in the model's column order, as the model reads them (float32). */
  explain(row: ArrayLike<number>): RowExplanation {
    const shap = new Float64Array(this.#featureCount);
    const splitCounts = this.#splitCounts;
    const usedCounts = this.#usedCounts;
    const offsets = this.#tableOffsets;
    const features = this.#splitFeatures;
    const modes = this.#splitModes;
    const thresholds = this.#splitThresholds;
    const usedFeatures = this.#usedFeatures;
    const tables = this.#tables;
    const lessOrEqual = this.#allLessOrEqual;
    let split = 0;
    let usedStart = 0;
    for (let tree = 0; tree < splitCounts.length; tree += 1) {
      const count = splitCounts[tree]!;
      let pattern = 0;
      for (let bit = 0; bit < count; bit += 1, split += 1) {
        const value = row[features[split]!]!;
        // Branch-free: the sides are as unpredictable as the rows.
        const side = lessOrEqual ? +(value <= thresholds[split]!) : +takesTrueBranch(modes[split]!, value, thresholds[split]!);
        pattern |= side << bit;
      }
      const used = usedCounts[tree]!;
      const offset = offsets[tree]! + pattern * used;
      for (let slot = 0; slot < used; slot += 1) shap[usedFeatures[usedStart + slot]!]! += tables[offset + slot]!;
      usedStart += used;
    }
    for (const { tree, shap: algorithm } of this.#directTrees) {
      algorithm.run((nodeId) => {
        const { feature, mode, threshold } = tree[nodeId]!.split!;
        return takesTrueBranch(MODE_CODES[mode], row[feature]!, threshold);
      }, shap);
    }
    return { baseValue: this.baseValue, shap };
  }
}
