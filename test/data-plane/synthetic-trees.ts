import protobuf from 'protobufjs/light.js';
import type { BranchMode, Tree, TreeEnsemble, TreeNode } from '../../src/data-plane/onnx-trees.js';

/**
 * Small tree ensembles made up for tests, an exact brute-force Shapley oracle for them, and their
 * ONNX encoding: what scikit-learn never exports (every branch mode, trees too big for the tables)
 * and every way an ONNX file can fail to hold an explainable ensemble.
 */

export const MODES: readonly BranchMode[] = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'];

/** Feature values and thresholds share this grid, so equal comparisons happen. All exact in float32. */
export const GRID = [0, 0.5, 1, 1.5, 2, 2.5, 3];

export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

export function goesTrue(mode: BranchMode, value: number, threshold: number): boolean {
  switch (mode) {
    case 'BRANCH_LEQ':
      return value <= threshold;
    case 'BRANCH_LT':
      return value < threshold;
    case 'BRANCH_GTE':
      return value >= threshold;
    case 'BRANCH_GT':
      return value > threshold;
    case 'BRANCH_EQ':
      return value === threshold;
    case 'BRANCH_NEQ':
      return value !== threshold;
  }
}

/**
 * A random tree with exactly `splits` splits over `featureCount` features (node 0 the root, children
 * numbered after their parents), leaf covers 1 to 20 and each split's cover the sum of its children's.
 */
export function randomTree(random: () => number, splits: number, featureCount: number, modes: readonly BranchMode[]): Tree {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const tree: Tree = [{ cover: 0 }];
  const leaves = [0];
  for (let split = 0; split < splits; split += 1) {
    const at = leaves.splice(Math.floor(random() * leaves.length), 1)[0]!;
    const whenTrue = tree.length;
    const whenFalse = whenTrue + 1;
    tree.push({ cover: 0 }, { cover: 0 });
    tree[at]!.split = { feature: Math.floor(random() * featureCount), mode: pick(modes), threshold: pick(GRID), whenTrue, whenFalse };
    leaves.push(whenTrue, whenFalse);
  }
  const fill = (nodeId: number): number => {
    const node = tree[nodeId]!;
    if (node.split) return (node.cover = fill(node.split.whenTrue) + fill(node.split.whenFalse));
    node.value = Math.round((random() * 2 - 1) * 1000) / 1024;
    return (node.cover = 1 + Math.floor(random() * 20));
  };
  fill(0);
  return tree;
}

export function randomRow(random: () => number, featureCount: number): number[] {
  return Array.from({ length: featureCount }, () => GRID[Math.floor(random() * GRID.length)]!);
}

/** The tree's output for a row. */
export function predictTree(tree: Tree, row: readonly number[]): number {
  let node: TreeNode = tree[0]!;
  while (node.split) node = tree[goesTrue(node.split.mode, row[node.split.feature]!, node.split.threshold) ? node.split.whenTrue : node.split.whenFalse]!;
  return node.value!;
}

/** E[f(x) | the features in `known` are the row's]: the others follow the training covers. */
function conditional(tree: Tree, row: readonly number[], known: ReadonlySet<number>, nodeId = 0): number {
  const node = tree[nodeId]!;
  if (!node.split) return node.value!;
  const { feature, mode, threshold, whenTrue, whenFalse } = node.split;
  if (known.has(feature)) return conditional(tree, row, known, goesTrue(mode, row[feature]!, threshold) ? whenTrue : whenFalse);
  return (tree[whenTrue]!.cover * conditional(tree, row, known, whenTrue) + tree[whenFalse]!.cover * conditional(tree, row, known, whenFalse)) / node.cover;
}

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

/** Path-dependent TreeSHAP by its definition: Shapley values of the game above, over every coalition. */
export function bruteForceShap(ensemble: TreeEnsemble, row: readonly number[]): { baseValue: number; shap: number[] } {
  const count = row.length;
  const value = (known: ReadonlySet<number>) => ensemble.trees.reduce((sum, tree) => sum + conditional(tree, row, known), ensemble.baseScore);
  const shap = new Array<number>(count).fill(0);
  for (let mask = 0; mask < 2 ** count; mask += 1) {
    const known = new Set(Array.from({ length: count }, (_, feature) => feature).filter((feature) => (mask & (1 << feature)) !== 0));
    const without = value(known);
    for (let feature = 0; feature < count; feature += 1) {
      if (known.has(feature)) continue;
      const weight = (factorial(known.size) * factorial(count - known.size - 1)) / factorial(count);
      shap[feature]! += weight * (value(new Set([...known, feature])) - without);
    }
  }
  return { baseValue: value(new Set()), shap };
}

/** The few ONNX messages a tree ensemble needs, by their field numbers in onnx.proto. */
const ONNX = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, graph: { type: 'GraphProto', id: 7 } } },
        GraphProto: { fields: { node: { rule: 'repeated', type: 'NodeProto', id: 1 }, name: { type: 'string', id: 2 } } },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            strings: { rule: 'repeated', type: 'bytes', id: 9 },
            type: { type: 'int32', id: 20 },
          },
        },
      },
    },
  },
});
const ModelProto = ONNX.lookupType('onnx.ModelProto');

export type Attribute = { name: string; floats?: number[]; ints?: number[]; strings?: string[]; s?: string };
export interface OnnxNode {
  opType: string;
  domain?: string;
  attribute: Attribute[];
}

/** The attributes of a TreeEnsembleClassifier node that runs `ensemble`, as skl2onnx writes them. */
export function ensembleAttributes(ensemble: TreeEnsemble): Attribute[] {
  const nodes = ensemble.trees.flatMap((tree, treeId) => tree.map((node, nodeId) => ({ treeId, nodeId, node })));
  const leaves = nodes.filter(({ node }) => !node.split);
  return [
    { name: 'nodes_treeids', ints: nodes.map(({ treeId }) => treeId) },
    { name: 'nodes_nodeids', ints: nodes.map(({ nodeId }) => nodeId) },
    { name: 'nodes_featureids', ints: nodes.map(({ node }) => node.split?.feature ?? 0) },
    { name: 'nodes_modes', strings: nodes.map(({ node }) => node.split?.mode ?? 'LEAF') },
    { name: 'nodes_values', floats: nodes.map(({ node }) => node.split?.threshold ?? 0) },
    { name: 'nodes_truenodeids', ints: nodes.map(({ node }) => node.split?.whenTrue ?? 0) },
    { name: 'nodes_falsenodeids', ints: nodes.map(({ node }) => node.split?.whenFalse ?? 0) },
    { name: 'nodes_hitrates', floats: nodes.map(({ node }) => node.cover) },
    { name: 'class_treeids', ints: leaves.map(({ treeId }) => treeId) },
    { name: 'class_nodeids', ints: leaves.map(({ nodeId }) => nodeId) },
    { name: 'class_ids', ints: leaves.map(() => 0) },
    { name: 'class_weights', floats: leaves.map(({ node }) => node.value!) },
    { name: 'base_values', floats: [ensemble.baseScore] },
    { name: 'post_transform', s: 'LOGISTIC' },
    { name: 'classlabels_int64s', ints: [0, 1] },
  ];
}

export function treeEnsembleNode(attributes: Attribute[]): OnnxNode {
  return { opType: 'TreeEnsembleClassifier', domain: 'ai.onnx.ml', attribute: attributes };
}

/** An ONNX ModelProto holding `nodes`, serialised. */
export function onnxBytes(nodes: OnnxNode[]): Uint8Array {
  const encodeText = (text: string) => Buffer.from(text);
  const message = ModelProto.fromObject({
    irVersion: 8,
    graph: {
      name: 'synthetic',
      node: nodes.map((node) => ({
        input: ['features'],
        output: ['label', 'probabilities'],
        opType: node.opType,
        ...(node.domain === undefined ? {} : { domain: node.domain }),
        attribute: node.attribute.map(({ strings, s, ...rest }) => ({
          ...rest,
          ...(strings ? { strings: strings.map(encodeText) } : {}),
          ...(s === undefined ? {} : { s: encodeText(s) }),
        })),
      })),
    },
  });
  return ModelProto.encode(message).finish();
}
