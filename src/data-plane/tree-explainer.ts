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
 * A grouped table (below) holds at most this many values (512 KB); more trees on the same
 * features start another table.
 */
export const MAX_GROUP_TABLE_VALUES = 1 << 16;

/** A tree of up to MAX_TABLE_SPLITS splits, with its SHAP values for every pattern of split sides. */
interface TabledTree {
  tree: Tree;
  /** Its split nodes, in node order: split i is bit i of a pattern. */
  splits: number[];
  /** The features it splits on, ascending. */
  used: number[];
  /** Per split: the slot of its feature in `used`, and its threshold. */
  splitSlots: Int32Array;
  splitThresholds: Float64Array;
  /** Per pattern, the SHAP value of each used feature. */
  table: Float64Array;
}

/** Trees that split on the same features with `x <= threshold` only, summed into one table. */
interface TreeGroup {
  used: number[];
  trees: TabledTree[];
  /** Per used feature: the thresholds the group's trees compare it with, ascending, once each. */
  thresholds: number[][];
}

function tableTree(tree: Tree): TabledTree {
  const splits = tree.flatMap((node, nodeId) => (node.split ? [nodeId] : []));
  const used = [...new Set(splits.map((nodeId) => tree[nodeId]!.split!.feature))].sort((a, b) => a - b);
  const bitOf = new Int32Array(tree.length);
  splits.forEach((nodeId, bit) => (bitOf[nodeId] = bit));
  const slotOf = new Map(used.map((feature, slot) => [feature, slot]));
  const table = new Float64Array(2 ** splits.length * used.length);
  const shap = new PathDependentShap(tree);
  const phi = new Float64Array(Math.max(0, ...used) + 1);
  for (let pattern = 0; pattern < 2 ** splits.length; pattern += 1) {
    phi.fill(0);
    shap.run((nodeId) => (pattern & (1 << bitOf[nodeId]!)) !== 0, phi);
    for (const [feature, slot] of slotOf) table[pattern * used.length + slot] = phi[feature]!;
  }
  const splitSlots = Int32Array.from(splits, (nodeId) => slotOf.get(tree[nodeId]!.split!.feature)!);
  const splitThresholds = Float64Array.from(splits, (nodeId) => tree[nodeId]!.split!.threshold);
  return { tree, splits, used, splitSlots, splitThresholds, table };
}

const ascendingOnce = (values: Iterable<number>) => [...new Set(values)].sort((a, b) => a - b);

/**
 * Puts trees that split on the same set of features, every split `x <= threshold`, into groups, in
 * tree order; a group grows until its table would pass MAX_GROUP_TABLE_VALUES.
 */
function groupTrees(trees: TabledTree[]): TreeGroup[] {
  const groups: TreeGroup[] = [];
  const open = new Map<string, TreeGroup>();
  for (const tabled of trees) {
    const key = tabled.used.join(',');
    const thresholdsOf = (group: TabledTree[]) =>
      tabled.used.map((feature) => ascendingOnce(group.flatMap(({ tree, splits }) => splits.map((nodeId) => tree[nodeId]!.split!).filter((split) => split.feature === feature).map((split) => split.threshold))));
    const current = open.get(key);
    if (current) {
      const thresholds = thresholdsOf([...current.trees, tabled]);
      if (thresholds.reduce((cells, values) => cells * (values.length + 1), tabled.used.length) <= MAX_GROUP_TABLE_VALUES) {
        current.trees.push(tabled);
        current.thresholds = thresholds;
        continue;
      }
    }
    const group = { used: tabled.used, trees: [tabled], thresholds: thresholdsOf([tabled]) };
    groups.push(group);
    open.set(key, group);
  }
  return groups;
}

/** The pattern of split sides (all `x <= threshold`) a row takes, for a row given by one value per used feature. */
function patternOf({ splitSlots, splitThresholds }: TabledTree, values: Float64Array): number {
  let pattern = 0;
  for (let bit = 0; bit < splitSlots.length; bit += 1) pattern |= +(values[splitSlots[bit]!]! <= splitThresholds[bit]!) << bit;
  return pattern;
}

/**
 * Explains rows of the loaded model exactly, with the trees onnxruntime runs.
 *
 * A tree's SHAP values depend on a row only through the side it takes at each split, so with k
 * splits there are 2^k patterns. For every tree of up to MAX_TABLE_SPLITS splits, Algorithm 2 runs
 * once per pattern when the model loads (the per-tree table of Fast TreeSHAP v2, Yang 2021).
 *
 * Then the tables of trees that split on the same features, all with `x <= threshold` (what
 * scikit-learn exports), are summed into one: such a group's SHAP values depend on a row only
 * through which interval between the group's thresholds each of its features falls in, so its
 * table has one cell per combination of intervals. 200 trees of 3 splits on 5 features make 16
 * such tables of 7,141 values. Explaining a row is then one binary search per feature and one
 * cell read per group, in flat typed arrays, for a whole batch of rows in one loop. Trees with
 * other branch modes keep their own table (a comparison per split, one read per tree); bigger
 * trees run Algorithm 2 for each row.
 */
export class TreeExplainer {
  readonly baseValue: number;
  readonly #featureCount: number;

  /** Per feature: where its thresholds start in #thresholds (one past the last feature: the end). */
  readonly #thresholdStarts: Int32Array;
  /** Every grouped tree's thresholds, ascending per feature. */
  readonly #thresholds: Float64Array;
  /** Per group: where its slots start (one past the last group: the end), and where its table starts. */
  readonly #groupSlotStarts: Int32Array;
  readonly #groupTableStarts: Int32Array;
  /** Per slot (a group's used feature): the feature, and where its offsets start in #cellOffsets. */
  readonly #slotFeatures: Int32Array;
  readonly #slotOffsetStarts: Int32Array;
  /** Per slot, per interval of the feature's thresholds: what that interval adds to the cell's offset in the group's table. */
  readonly #cellOffsets: Int32Array;
  /** Per group, per cell: the summed SHAP value of each used feature. */
  readonly #groupTables: Float64Array;

  /** Per patterned tree (other branch modes): how many splits, how many features it uses, and where its table starts. */
  readonly #splitCounts: Int32Array;
  readonly #usedCounts: Int32Array;
  readonly #tableOffsets: Int32Array;
  /** Per split of a patterned tree, in tree order: the feature, the mode code and the threshold. */
  readonly #splitFeatures: Int32Array;
  readonly #splitModes: Uint8Array;
  readonly #splitThresholds: Float64Array;
  /** Per patterned tree, in tree order: the features it uses. */
  readonly #usedFeatures: Int32Array;
  /** Per patterned tree, per pattern: the SHAP value of each feature it uses. */
  readonly #tables: Float64Array;

  readonly #directTrees: { tree: Tree; shap: PathDependentShap }[] = [];

  constructor(ensemble: TreeEnsemble, featureCount: number) {
    this.#featureCount = featureCount;
    this.baseValue = ensemble.trees.reduce((sum, tree) => sum + expectedValue(tree), ensemble.baseScore);
    const groupable: TabledTree[] = [];
    const patterned: TabledTree[] = [];
    for (const tree of ensemble.trees) {
      const splitCount = tree.reduce((count, node) => count + (node.split ? 1 : 0), 0);
      if (splitCount > MAX_TABLE_SPLITS) {
        this.#directTrees.push({ tree, shap: new PathDependentShap(tree) });
        continue;
      }
      const tabled = tableTree(tree);
      if (tabled.splits.every((nodeId) => tree[nodeId]!.split!.mode === 'BRANCH_LEQ')) groupable.push(tabled);
      else patterned.push(tabled);
    }

    // Grouped trees: one binary search per feature over all their thresholds gives a row's
    // interval; each group maps it to its own (coarser) interval through #cellOffsets.
    const groups = groupTrees(groupable);
    const allThresholds = Array.from({ length: featureCount }, (_, feature) =>
      ascendingOnce(groups.flatMap((group) => group.thresholds[group.used.indexOf(feature)] ?? [])),
    );
    this.#thresholdStarts = new Int32Array(featureCount + 1);
    allThresholds.forEach((values, feature) => (this.#thresholdStarts[feature + 1] = this.#thresholdStarts[feature]! + values.length));
    this.#thresholds = Float64Array.from(allThresholds.flat());
    this.#groupSlotStarts = new Int32Array(groups.length + 1);
    this.#groupTableStarts = new Int32Array(groups.length);
    const slotFeatures: number[] = [];
    const slotOffsetStarts: number[] = [];
    const cellOffsets: number[] = [];
    let tableValues = 0;
    groups.forEach((group, index) => {
      this.#groupSlotStarts[index + 1] = this.#groupSlotStarts[index]! + group.used.length;
      this.#groupTableStarts[index] = tableValues;
      // Cell = intervals in mixed radix, the last feature fastest; each cell holds one value per used feature.
      const strides = group.used.map(() => 0);
      let stride = group.used.length;
      for (let slot = group.used.length - 1; slot >= 0; slot -= 1) {
        strides[slot] = stride;
        stride *= group.thresholds[slot]!.length + 1;
      }
      tableValues += stride;
      group.used.forEach((feature, slot) => {
        slotFeatures.push(feature);
        slotOffsetStarts.push(cellOffsets.length);
        // Interval i of all thresholds holds (t[i-1], t[i]]; t[i] (or +Infinity past the last) stands for it.
        const everyThreshold = allThresholds[feature]!;
        const own = group.thresholds[slot]!;
        for (let interval = 0; interval <= everyThreshold.length; interval += 1) {
          const value = everyThreshold[interval] ?? Infinity;
          cellOffsets.push(own.filter((threshold) => !(value <= threshold)).length * strides[slot]!);
        }
      });
    });
    this.#slotFeatures = Int32Array.from(slotFeatures);
    this.#slotOffsetStarts = Int32Array.from(slotOffsetStarts);
    this.#cellOffsets = Int32Array.from(cellOffsets);
    this.#groupTables = new Float64Array(tableValues);
    groups.forEach((group, index) => this.#fillGroupTable(group, this.#groupTableStarts[index]!));

    this.#splitCounts = Int32Array.from(patterned, ({ splits }) => splits.length);
    this.#usedCounts = Int32Array.from(patterned, ({ used }) => used.length);
    this.#usedFeatures = Int32Array.from(patterned.flatMap(({ used }) => used));
    const allSplits = patterned.flatMap(({ tree, splits }) => splits.map((nodeId) => tree[nodeId]!.split!));
    this.#splitFeatures = Int32Array.from(allSplits, (split) => split.feature);
    this.#splitModes = Uint8Array.from(allSplits, (split) => MODE_CODES[split.mode]);
    this.#splitThresholds = Float64Array.from(allSplits, (split) => split.threshold);
    this.#tableOffsets = new Int32Array(patterned.length);
    this.#tables = new Float64Array(patterned.reduce((sum, { table }) => sum + table.length, 0));
    let offset = 0;
    patterned.forEach(({ table }, index) => {
      this.#tableOffsets[index] = offset;
      this.#tables.set(table, offset);
      offset += table.length;
    });
  }

  /** Sums the group's trees' tables, cell by cell, in tree order. */
  #fillGroupTable(group: TreeGroup, start: number): void {
    const width = group.used.length;
    const intervals = new Int32Array(width);
    const values = new Float64Array(width);
    const cells = group.thresholds.reduce((count, own) => count * (own.length + 1), 1);
    for (let cell = 0; cell < cells; cell += 1) {
      group.thresholds.forEach((own, slot) => (values[slot] = own[intervals[slot]!] ?? Infinity));
      for (const tabled of group.trees) {
        const from = patternOf(tabled, values) * width;
        for (let slot = 0; slot < width; slot += 1) this.#groupTables[start + cell * width + slot]! += tabled.table[from + slot]!;
      }
      // The next cell: count up in mixed radix, the last feature fastest.
      for (let slot = width - 1; slot >= 0; slot -= 1) {
        intervals[slot]! += 1;
        if (intervals[slot]! <= group.thresholds[slot]!.length) break;
        intervals[slot] = 0;
      }
    }
  }

  /** What the tables built at load take in memory. */
  get tableBytes(): number {
    return this.#groupTables.byteLength + this.#tables.byteLength;
  }

  /** How many values each group's table holds. */
  get groupTableSizes(): number[] {
    return Array.from(this.#groupTableStarts, (start, group) => (this.#groupTableStarts[group + 1] ?? this.#groupTables.length) - start);
  }

  /** One row: `row` holds the feature values in the model's column order, as the model reads them (float32). */
  explain(row: Float32Array): RowExplanation {
    return { baseValue: this.baseValue, shap: this.explainRows(row, 1) };
  }

  /**
   * `rows` rows packed row-major in the model's column order (float32, as the model reads them):
   * their SHAP values, packed the same way (rows × features). The base value is `baseValue`.
   */
  explainRows(features: Float32Array, rows: number): Float64Array {
    const featureCount = this.#featureCount;
    const shap = new Float64Array(rows * featureCount);
    const intervals = new Int32Array(featureCount);
    for (let row = 0; row < rows; row += 1) {
      const base = row * featureCount;
      this.#addGroups(features, base, intervals, shap);
      if (this.#splitCounts.length > 0) this.#addPatterned(features, base, shap);
      for (const { tree, shap: algorithm } of this.#directTrees) {
        const out = shap.subarray(base, base + featureCount);
        algorithm.run((nodeId) => {
          const { feature, mode, threshold } = tree[nodeId]!.split!;
          return takesTrueBranch(MODE_CODES[mode], features[base + feature]!, threshold);
        }, out);
      }
    }
    return shap;
  }

  #addGroups(features: Float32Array, base: number, intervals: Int32Array, shap: Float64Array): void {
    const starts = this.#thresholdStarts;
    const thresholds = this.#thresholds;
    for (let feature = 0; feature < intervals.length; feature += 1) {
      // How many thresholds the value exceeds (NaN exceeds none of them: `NaN <= t` is false, as in onnxruntime).
      const value = features[base + feature]!;
      let low = starts[feature]!;
      let high = starts[feature + 1]!;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (value <= thresholds[middle]!) high = middle;
        else low = middle + 1;
      }
      intervals[feature] = low - starts[feature]!;
    }
    const slotStarts = this.#groupSlotStarts;
    const tableStarts = this.#groupTableStarts;
    const slotFeatures = this.#slotFeatures;
    const offsetStarts = this.#slotOffsetStarts;
    const offsets = this.#cellOffsets;
    const tables = this.#groupTables;
    for (let group = 0; group < tableStarts.length; group += 1) {
      const first = slotStarts[group]!;
      const end = slotStarts[group + 1]!;
      let cell = tableStarts[group]!;
      for (let slot = first; slot < end; slot += 1) cell += offsets[offsetStarts[slot]! + intervals[slotFeatures[slot]!]!]!;
      for (let slot = first; slot < end; slot += 1) shap[base + slotFeatures[slot]!]! += tables[cell + slot - first]!;
    }
  }

  #addPatterned(features: Float32Array, base: number, shap: Float64Array): void {
    const splitCounts = this.#splitCounts;
    const usedCounts = this.#usedCounts;
    const offsets = this.#tableOffsets;
    const splitFeatures = this.#splitFeatures;
    const modes = this.#splitModes;
    const thresholds = this.#splitThresholds;
    const usedFeatures = this.#usedFeatures;
    const tables = this.#tables;
    let split = 0;
    let usedStart = 0;
    for (let tree = 0; tree < splitCounts.length; tree += 1) {
      const count = splitCounts[tree]!;
      let pattern = 0;
      for (let bit = 0; bit < count; bit += 1, split += 1) {
        pattern |= +takesTrueBranch(modes[split]!, features[base + splitFeatures[split]!]!, thresholds[split]!) << bit;
      }
      const used = usedCounts[tree]!;
      const offset = offsets[tree]! + pattern * used;
      for (let slot = 0; slot < used; slot += 1) shap[base + usedFeatures[usedStart + slot]!]! += tables[offset + slot]!;
      usedStart += used;
    }
  }
}
