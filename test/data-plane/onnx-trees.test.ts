import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readTreeEnsemble, type Tree, type TreeEnsemble } from '../../src/data-plane/onnx-trees.js';
import { ensembleAttributes, MODES, onnxBytes, randomTree, seededRandom, treeEnsembleNode, type Attribute } from './synthetic-trees.js';

/** readTreeEnsemble on ONNX files written here: what it reads back, and each reason it gives up. */

const SMALL: TreeEnsemble = {
  baseScore: -1.25,
  trees: [
    [
      { cover: 10, split: { feature: 1, mode: 'BRANCH_LEQ', threshold: 2.5, whenTrue: 1, whenFalse: 2 } },
      { cover: 6, value: 0.5 },
      { cover: 4, split: { feature: 4, mode: 'BRANCH_EQ', threshold: 1, whenTrue: 3, whenFalse: 4 } },
      { cover: 3, value: -0.25 },
      { cover: 1, value: 0.125 },
    ],
    [{ cover: 10, value: 0.75 }],
  ],
};

const read = (attributes: Attribute[]) => readTreeEnsemble(onnxBytes([treeEnsembleNode(attributes)]));
const without = (name: string) => ensembleAttributes(SMALL).filter((attribute) => attribute.name !== name);
const replaced = (name: string, attribute: Omit<Attribute, 'name'>) => [...without(name), { name, ...attribute }];
const NOT_BINARY = { unavailable: 'only binary ensembles with one score and a logistic output are explained' };

describe('readTreeEnsemble', () => {
  it('reads back the trees, covers, splits, leaf values and base score it was given', () => {
    expect(read(ensembleAttributes(SMALL))).toEqual({ ensemble: SMALL });
  });

  it('reads back a random ensemble of every branch mode', () => {
    const random = seededRandom(7);
    const ensemble: TreeEnsemble = { baseScore: 0.5, trees: [3, 12, 1, 6].map((splits) => randomTree(random, splits, 5, MODES)) };
    expect(read(ensembleAttributes(ensemble))).toEqual({ ensemble });
  });

  it('adds up the weights listed for one leaf', () => {
    const attributes = ensembleAttributes(SMALL);
    const extra = (name: string, value: number) => attributes.find((attribute) => attribute.name === name)![name === 'class_weights' ? 'floats' : 'ints']!.push(value);
    extra('class_treeids', 1);
    extra('class_nodeids', 0);
    extra('class_ids', 0);
    extra('class_weights', 0.25);
    const reading = read(attributes) as { ensemble: TreeEnsemble };
    expect(reading.ensemble.trees[1]).toEqual([{ cover: 10, value: 1 }]);
  });

  it('takes class labels as strings, and a base score of 0 when none is stored', () => {
    const attributes = without('classlabels_int64s').filter((attribute) => attribute.name !== 'base_values');
    attributes.push({ name: 'classlabels_strings', strings: ['stay', 'churn'] });
    expect(read(attributes)).toEqual({ ensemble: { ...SMALL, baseScore: 0 } });
  });

  it('ignores a leaf weight listed for a node no tree has', () => {
    const attributes = ensembleAttributes(SMALL);
    const extra = (name: string, value: number) => attributes.find((attribute) => attribute.name === name)![name === 'class_weights' ? 'floats' : 'ints']!.push(value);
    extra('class_treeids', 0);
    extra('class_nodeids', 9);
    extra('class_ids', 0);
    extra('class_weights', 0.25);
    expect(read(attributes)).toEqual({ ensemble: SMALL });
  });

  it('gives up on an empty file: a model without a graph', () => {
    expect(readTreeEnsemble(new Uint8Array(0))).toEqual({ unavailable: 'the model is not a single TreeEnsembleClassifier' });
  });

  it('gives up on a tree id with no nodes, naming the tree', () => {
    const attributes = ensembleAttributes(SMALL);
    // Number the second tree 2: tree 1 has no nodes.
    for (const name of ['nodes_treeids', 'class_treeids']) {
      const ids = attributes.find((attribute) => attribute.name === name)!.ints!;
      ids.forEach((id, index) => (ids[index] = id === 1 ? 2 : id));
    }
    expect(read(attributes)).toEqual({ unavailable: 'tree 1 is missing' });
  });

  it('gives up on a file that is not protobuf', () => {
    expect(readTreeEnsemble(Buffer.from('this is not an ONNX protobuf\n'))).toEqual({ unavailable: expect.stringMatching(/^the ONNX file could not be read: .+/) });
  });

  it.each([
    ['no node', []],
    ['a regressor', [{ ...treeEnsembleNode(ensembleAttributes(SMALL)), opType: 'TreeEnsembleRegressor' }]],
    ['the classifier outside the ai.onnx.ml domain', [{ ...treeEnsembleNode(ensembleAttributes(SMALL)), domain: 'com.example' }]],
    ['a second node after the classifier', [treeEnsembleNode(ensembleAttributes(SMALL)), { opType: 'Identity', attribute: [] }]],
    ['two classifiers', [treeEnsembleNode(ensembleAttributes(SMALL)), treeEnsembleNode(ensembleAttributes(SMALL))]],
  ])('gives up on a graph with %s', (_case, nodes) => {
    expect(readTreeEnsemble(onnxBytes(nodes))).toEqual({ unavailable: 'the model is not a single TreeEnsembleClassifier' });
  });

  it.each([
    'nodes_treeids',
    'nodes_nodeids',
    'nodes_featureids',
    'nodes_modes',
    'nodes_values',
    'nodes_truenodeids',
    'nodes_falsenodeids',
    'class_treeids',
    'class_nodeids',
    'class_ids',
    'class_weights',
  ])('gives up when %s is not a list attribute', (name) => {
    expect(read(without(name))).toEqual({ unavailable: 'the tree ensemble stores its nodes in a form the explainer does not read (tensor attributes)' });
  });

  it.each([
    ['missing', without('nodes_hitrates')],
    ['one short', replaced('nodes_hitrates', { floats: [10, 6, 4, 3, 1] })],
  ])('gives up when the training covers are %s', (_case, attributes) => {
    expect(read(attributes)).toEqual({ unavailable: 'the model has no training covers (nodes_hitrates), which exact TreeSHAP needs' });
  });

  it.each([
    ['no post transform', without('post_transform')],
    ['a softmax output', replaced('post_transform', { s: 'SOFTMAX' })],
    ['three classes', replaced('classlabels_int64s', { ints: [0, 1, 2] })],
    ['no class labels', without('classlabels_int64s')],
    ['weights for class 1', replaced('class_ids', { ints: [0, 1, 0, 0] })],
    ['two base values', replaced('base_values', { floats: [0, 0] })],
  ])('gives up on %s', (_case, attributes) => {
    expect(read(attributes)).toEqual(NOT_BINARY);
  });

  it('gives up on a tree whose node is missing, naming the tree and node', () => {
    const tree: Tree = [
      { cover: 10, split: { feature: 0, mode: 'BRANCH_LEQ', threshold: 1, whenTrue: 2, whenFalse: 3 } },
      { cover: 5, value: 1 },
      { cover: 5, value: 1 },
      { cover: 5, value: 1 },
    ];
    const attributes = ensembleAttributes({ baseScore: 0, trees: [[{ cover: 1, value: 0 }], tree] });
    // Drop node 1 of tree 1 from every per-node list, and its leaf weight.
    const dropNode = 2;
    for (const attribute of attributes.filter((candidate) => candidate.name.startsWith('nodes_'))) {
      attribute.ints?.splice(dropNode, 1);
      attribute.floats?.splice(dropNode, 1);
      attribute.strings?.splice(dropNode, 1);
    }
    for (const attribute of attributes.filter((candidate) => candidate.name.startsWith('class_') && candidate.name !== 'class_ids')) {
      attribute.ints?.splice(1, 1);
      attribute.floats?.splice(1, 1);
    }
    attributes.find((attribute) => attribute.name === 'class_ids')!.ints!.splice(1, 1);
    expect(read(attributes)).toEqual({ unavailable: 'tree 1 has no node 1' });
  });

  it.each([
    ['a child that does not exist', 'nodes_truenodeids', { ints: [7, 0, 0, 0, 0, 0] }, 'tree 0 node 0 points to a missing child'],
    ['a false child that does not exist', 'nodes_falsenodeids', { ints: [2, 0, 9, 0, 0, 0] }, 'tree 0 node 2 points to a missing child'],
    ['a split without training cover', 'nodes_hitrates', { floats: [10, 6, 0, 3, 1, 10] }, 'tree 0 node 2 has no training cover'],
    ['a leaf without a weight', 'class_nodeids', { ints: [1, 3, 3, 0] }, 'tree 0 leaf 4 has no weight'],
    // onnxruntime refuses such a file before the explainer reads it; the reader drops the node all the same.
    ['an unknown branch mode', 'nodes_modes', { strings: ['BRANCH_LEQ', 'LEAF', 'BRANCH_MAYBE', 'LEAF', 'LEAF', 'LEAF'] }, 'tree 0 node 0 points to a missing child'],
  ])('gives up on %s, naming where', (_case, name, attribute, reason) => {
    expect(read(replaced(name, attribute))).toEqual({ unavailable: reason });
  });
});
