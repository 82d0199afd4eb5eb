import protobuf from 'protobufjs/light.js';

/**
 * The few ONNX messages the service reads, by their field numbers in onnx.proto: the model's
 * metadata, and enough of the graph to find a TreeEnsembleClassifier node and its attributes.
 * protobufjs skips every other field.
 */
const ONNX_SUBSET = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            graph: { type: 'GraphProto', id: 7 },
          },
        },
        /** ModelProto again, without the graph: reading the metadata skips the trees' bytes. */
        ModelMetadata: { fields: { metadataProps: { rule: 'repeated', type: 'StringStringEntryProto', id: 14 } } },
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        GraphProto: { fields: { node: { rule: 'repeated', type: 'NodeProto', id: 1 } } },
        NodeProto: {
          fields: {
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
          },
        },
      },
    },
  },
});
const ModelProto = ONNX_SUBSET.lookupType('onnx.ModelProto');
const ModelMetadata = ONNX_SUBSET.lookupType('onnx.ModelMetadata');

/**
 * The metadata_props entries of an ONNX file, by key. Throws when the bytes are not protobuf or a
 * key appears twice (which value a reader sees would then depend on the reader).
 */
export function readOnnxMetadata(onnxBytes: Uint8Array): ReadonlyMap<string, string> {
  const decoded = ModelMetadata.toObject(ModelMetadata.decode(onnxBytes), { arrays: true }) as { metadataProps: { key?: string; value?: string }[] };
  const properties = new Map<string, string>();
  for (const { key = '', value = '' } of decoded.metadataProps) {
    if (properties.has(key)) throw new Error(`its metadata_props hold the key "${key}" twice`);
    properties.set(key, value);
  }
  return properties;
}

interface Attribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  floats?: number[];
  ints?: number[];
  strings?: string[];
}
interface DecodedModel {
  graph?: { node?: { opType?: string; domain?: string; attribute?: Attribute[] }[] };
}

export type BranchMode = 'BRANCH_LEQ' | 'BRANCH_LT' | 'BRANCH_GTE' | 'BRANCH_GT' | 'BRANCH_EQ' | 'BRANCH_NEQ';

/** One node of one tree: a split (feature, mode, threshold, children) or a leaf (value). */
export interface TreeNode {
  /** Training samples that reached the node (ONNX `nodes_hitrates`). */
  cover: number;
  split?: { feature: number; mode: BranchMode; threshold: number; whenTrue: number; whenFalse: number };
  /** The leaf's contribution to the raw score (log-odds). */
  value?: number;
}

/** A tree with node 0 as its root. */
export type Tree = TreeNode[];

/**
 * A binary tree-ensemble classifier as ONNX runs it: raw score = baseScore + the sum of one leaf
 * per tree; P(churn) = logistic(raw score).
 */
export interface TreeEnsemble {
  baseScore: number;
  trees: Tree[];
}

/** The ensemble in an ONNX file, or why it cannot be explained. */
export type TreeEnsembleReading = { ensemble: TreeEnsemble } | { unavailable: string };

const BRANCH_MODES = new Set<string>(['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ']);

function attributes(node: { attribute?: Attribute[] }) {
  const byName = new Map((node.attribute ?? []).map((attribute) => [attribute.name, attribute]));
  return {
    floats: (name: string) => byName.get(name)?.floats,
    ints: (name: string) => byName.get(name)?.ints,
    strings: (name: string) => byName.get(name)?.strings,
    string: (name: string) => byName.get(name)?.s,
  };
}

/**
 * Reads the TreeEnsembleClassifier of an ONNX file, with each node's training cover from its
 * `nodes_hitrates` attribute (which onnxruntime does not use for inference, so the training
 * pipeline keeps the covers there: one file holds the trees the service runs and explains).
 */
export function readTreeEnsemble(onnxBytes: Uint8Array): TreeEnsembleReading {
  let decoded: DecodedModel;
  try {
    decoded = ModelProto.toObject(ModelProto.decode(onnxBytes), { longs: Number, bytes: String, arrays: true }) as DecodedModel;
  } catch (error) {
    return { unavailable: `the ONNX file could not be read: ${(error as Error).message}` };
  }
  const nodes = decoded.graph?.node ?? [];
  const ensembles = nodes.filter((node) => node.opType === 'TreeEnsembleClassifier' && node.domain === 'ai.onnx.ml');
  if (ensembles.length !== 1 || nodes.length !== 1) {
    return { unavailable: 'the model is not a single TreeEnsembleClassifier' };
  }
  const read = attributes(ensembles[0]!);
  const asText = (values: string[] | undefined) => values?.map((value) => Buffer.from(value, 'base64').toString());
  const treeIds = read.ints('nodes_treeids');
  const nodeIds = read.ints('nodes_nodeids');
  const featureIds = read.ints('nodes_featureids');
  const modes = asText(read.strings('nodes_modes'));
  const thresholds = read.floats('nodes_values');
  const trueIds = read.ints('nodes_truenodeids');
  const falseIds = read.ints('nodes_falsenodeids');
  const covers = read.floats('nodes_hitrates');
  const leafTrees = read.ints('class_treeids');
  const leafNodes = read.ints('class_nodeids');
  const leafClasses = read.ints('class_ids');
  const leafWeights = read.floats('class_weights');
  const baseValues = read.floats('base_values') ?? [0];
  const postTransform = read.string('post_transform') === undefined ? 'NONE' : Buffer.from(read.string('post_transform')!, 'base64').toString();
  const labels = read.ints('classlabels_int64s') ?? asText(read.strings('classlabels_strings'));

  if (!treeIds || !nodeIds || !featureIds || !modes || !thresholds || !trueIds || !falseIds || !leafTrees || !leafNodes || !leafClasses || !leafWeights) {
    return { unavailable: 'the tree ensemble stores its nodes in a form the explainer does not read (tensor attributes)' };
  }
  if (!covers || covers.length !== nodeIds.length) {
    return { unavailable: 'the model has no training covers (nodes_hitrates), which exact TreeSHAP needs' };
  }
  if (postTransform !== 'LOGISTIC' || labels?.length !== 2 || leafClasses.some((id) => id !== 0) || baseValues.length !== 1) {
    return { unavailable: 'only binary ensembles with one score and a logistic output are explained' };
  }

  const trees: Tree[] = [];
  const slots = new Map<string, TreeNode>();
  nodeIds.forEach((nodeId, index) => {
    const treeId = treeIds[index]!;
    const node: TreeNode = { cover: covers[index]! };
    const mode = modes[index]!;
    if (mode !== 'LEAF') {
      if (!BRANCH_MODES.has(mode)) return;
      node.split = { feature: featureIds[index]!, mode: mode as BranchMode, threshold: thresholds[index]!, whenTrue: trueIds[index]!, whenFalse: falseIds[index]! };
    }
    (trees[treeId] ??= [])[nodeId] = node;
    slots.set(`${treeId}:${nodeId}`, node);
  });
  leafNodes.forEach((nodeId, index) => {
    const node = slots.get(`${leafTrees[index]}:${nodeId}`);
    if (node) node.value = (node.value ?? 0) + leafWeights[index]!;
  });

  for (const [treeId, tree] of trees.entries()) {
    const problem = checkTree(tree);
    if (problem) return { unavailable: `tree ${treeId} ${problem}` };
  }
  return { ensemble: { baseScore: baseValues[0]!, trees } };
}

/** Every node is present and is a split with two existing children, or a leaf with a value and a cover. */
function checkTree(tree: Tree | undefined): string | undefined {
  if (!tree || tree.length === 0) return 'is missing';
  for (const [nodeId, node] of tree.entries()) {
    if (!node) return `has no node ${nodeId}`;
    if (node.split) {
      if (!tree[node.split.whenTrue] || !tree[node.split.whenFalse]) return `node ${nodeId} points to a missing child`;
      if (!(node.cover > 0)) return `node ${nodeId} has no training cover`;
    } else if (node.value === undefined) {
      return `leaf ${nodeId} has no weight`;
    }
  }
  return undefined;
}
