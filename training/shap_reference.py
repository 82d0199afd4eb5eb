"""Exact path-dependent TreeSHAP for the churn model, by brute force.

This is the reference the service's explainer is tested against
(test/fixtures/shap.json). It reads the trees from the ONNX file itself,
like the service will, and computes SHAP values straight from their
definition, with no clever algorithm to get wrong:

  v(S)  = base_score + sum over trees of E_tree[x_S]
  E_tree[x_S] walks the tree from the root: at a split on a feature in S it
          follows x (x <= threshold -> true/left child, as BRANCH_LEQ, in
          float32 like onnxruntime); at a split on a feature not in S it
          takes the cover-weighted average of both children (cover = the
          node's nodes_hitrates, the training rows that reached it).
  phi_i = sum over S subset of N without i of |S|!(M-|S|-1)!/M! (v(S+i) - v(S))
  base_value = v(empty set)

over all 2^M coalitions (M = 5 features: 32). This is the "tree path
dependent" feature perturbation of the shap library's TreeExplainer (Lundberg
et al. 2018, "Consistent Individualized Feature Attribution for Tree
Ensembles", Algorithm 1, which Algorithm 2 computes in polynomial time). The
output explained is the raw score, i.e. the log-odds of churn before
onnxruntime's LOGISTIC post-transform; leaf values are the ONNX
class_weights (learning_rate * sklearn leaf value, stored as float32 and
widened to float64 here).

E_tree[x_S] is the sum over leaves of value * P(reach leaf | S), where the
probability is the product over the leaf's path of either the indicator that
x goes that way (feature in S) or the cover ratio child/parent (feature not
in S). That product form is evaluated for all 32 coalitions and all rows at
once with numpy.

tree_shap_polynomial() is an independent port of Algorithm 2 (the recursion
the shap library runs), used by the pipeline only as a cross-check on a
sample of rows.
"""

import math
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper


@dataclass
class Tree:
    """One tree with node arrays indexed by node id (ids are 0..n-1 within the tree)."""
    feature: np.ndarray     # int, -1 for leaves
    threshold: np.ndarray   # float32 (ONNX) or float64 (sklearn); x <= threshold -> left
    left: np.ndarray        # int, -1 for leaves
    right: np.ndarray       # int, -1 for leaves
    value: np.ndarray       # float64 leaf value (raw score contribution), 0 for internal nodes
    cover: np.ndarray       # float64 training cover of every node

    def leaf_paths(self):
        """For every leaf: (leaf id, [(node id, went_left), ...] from the root)."""
        paths = []
        stack = [(0, [])]
        while stack:
            node, path = stack.pop()
            if self.left[node] < 0:
                paths.append((node, path))
            else:
                stack.append((int(self.right[node]), path + [(node, False)]))
                stack.append((int(self.left[node]), path + [(node, True)]))
        return sorted(paths)


@dataclass
class TreeEnsemble:
    """A tree ensemble whose raw score is base_score + the sum of one leaf value per tree."""
    base_score: float
    trees: list
    n_features: int

    @classmethod
    def from_onnx(cls, model):
        """Read the single binary TreeEnsembleClassifier node of the churn model (ModelProto or bytes)."""
        if isinstance(model, (bytes, bytearray)):
            model = onnx.load_from_string(bytes(model))
        nodes = [n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier"]
        if len(nodes) != 1 or nodes[0].domain != "ai.onnx.ml":
            raise ValueError("expected exactly one ai.onnx.ml TreeEnsembleClassifier node")
        attributes = {a.name: helper.get_attribute_value(a) for a in nodes[0].attribute}
        if attributes.get("post_transform") != b"LOGISTIC" or len(attributes["base_values"]) != 1:
            raise ValueError("expected a binary ensemble with one base value and LOGISTIC post_transform")
        if set(attributes["class_ids"]) != {0}:
            raise ValueError("expected every leaf weight under class id 0")
        if "nodes_hitrates" not in attributes:
            raise ValueError("the model has no nodes_hitrates (covers); it cannot be explained")
        modes = [m.decode() for m in attributes["nodes_modes"]]
        if not set(modes) <= {"BRANCH_LEQ", "LEAF"}:
            raise ValueError("unsupported node modes %s" % sorted(set(modes)))

        tree_ids = np.array(attributes["nodes_treeids"])
        node_ids = np.array(attributes["nodes_nodeids"])
        feature_ids = np.array(attributes["nodes_featureids"])
        thresholds = np.array(attributes["nodes_values"], dtype=np.float32)
        true_ids = np.array(attributes["nodes_truenodeids"])
        false_ids = np.array(attributes["nodes_falsenodeids"])
        covers = np.array(attributes["nodes_hitrates"], dtype=np.float32).astype(np.float64)
        is_leaf = np.array([m == "LEAF" for m in modes])

        # Leaf values: the float32 class_weights, summed per (tree, node), widened to float64.
        weights = {}
        for t, n, w in zip(attributes["class_treeids"], attributes["class_nodeids"],
                           np.array(attributes["class_weights"], dtype=np.float32).astype(np.float64)):
            weights[(t, n)] = weights.get((t, n), 0.0) + w

        trees = []
        for tree_id in np.unique(tree_ids):
            rows = np.flatnonzero(tree_ids == tree_id)
            count = len(rows)
            order = np.argsort(node_ids[rows])
            rows = rows[order]
            if not np.array_equal(node_ids[rows], np.arange(count)):
                raise ValueError("tree %d: node ids are not 0..%d" % (tree_id, count - 1))
            leaf = is_leaf[rows]
            trees.append(Tree(
                feature=np.where(leaf, -1, feature_ids[rows]),
                threshold=thresholds[rows],
                left=np.where(leaf, -1, true_ids[rows]),
                right=np.where(leaf, -1, false_ids[rows]),
                value=np.array([weights.get((int(tree_id), n), 0.0) if l else 0.0
                                for n, l in zip(range(count), leaf)]),
                cover=covers[rows],
            ))
        n_features = int(model.graph.input[0].type.tensor_type.shape.dim[1].dim_value)
        return cls(float(np.float32(attributes["base_values"][0])), trees, n_features)

    @classmethod
    def from_sklearn(cls, model):
        """The same ensemble from a fitted binary GradientBoostingClassifier, in float64.

        Thresholds are sklearn's float64 ones (compared with the float32 input
        widened to float64, as sklearn does) and leaf values are
        learning_rate * value in float64, so raw() equals decision_function().
        """
        prior = model.init_.class_prior_[1]
        trees = []
        for estimator in model.estimators_[:, 0]:
            t = estimator.tree_
            leaf = t.children_left == -1
            trees.append(Tree(
                feature=np.where(leaf, -1, t.feature),
                threshold=t.threshold.astype(np.float64),
                left=t.children_left.copy(),
                right=t.children_right.copy(),
                value=np.where(leaf, model.learning_rate * t.value[:, 0, 0], 0.0),
                cover=t.weighted_n_node_samples.astype(np.float64),
            ))
        return cls(float(np.log(prior / (1.0 - prior))), trees, int(model.n_features_in_))

    def raw(self, features):
        """Raw score (log-odds) of each row by plain traversal, accumulated in float64."""
        features = np.asarray(features, dtype=np.float32)
        total = np.full(len(features), self.base_score)
        for tree in self.trees:
            x = features.astype(tree.threshold.dtype)
            node = np.zeros(len(features), dtype=np.int64)
            while True:
                inner = tree.left[node] >= 0
                if not inner.any():
                    break
                at = node[inner]
                go_left = x[np.flatnonzero(inner), tree.feature[at]] <= tree.threshold[at]
                node[inner] = np.where(go_left, tree.left[at], tree.right[at])
            total += tree.value[node]
        return total

    def coalition_values(self, features):
        """v(S) for every coalition S (bit i of the index set = feature i in S): array [rows, 2^M]."""
        features = np.asarray(features, dtype=np.float32)
        masks = np.arange(2 ** self.n_features)
        values = np.full((len(features), len(masks)), self.base_score)
        for tree in self.trees:
            x = features.astype(tree.threshold.dtype)
            for leaf, path in tree.leaf_paths():
                reach = np.ones((len(features), len(masks)))
                for node, went_left in path:
                    f = tree.feature[node]
                    child = tree.left[node] if went_left else tree.right[node]
                    follows = (x[:, f] <= tree.threshold[node]) == went_left  # [rows]
                    in_s = ((masks >> f) & 1).astype(bool)                    # [masks]
                    ratio = tree.cover[child] / tree.cover[node]
                    reach *= np.where(in_s[None, :], follows[:, None], ratio)
                values += tree.value[leaf] * reach
        return values

    def shap_values(self, features):
        """Exact Shapley values from all coalitions: (phi [rows, M], base_value = v(empty))."""
        values = self.coalition_values(features)
        m = self.n_features
        weight = [math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)]
        phi = np.zeros((len(values), m))
        for i in range(m):
            for mask in range(2 ** m):
                if not (mask >> i) & 1:
                    size = bin(mask).count("1")
                    phi[:, i] += weight[size] * (values[:, mask | (1 << i)] - values[:, mask])
        base = values[:, 0]
        if np.ptp(base) != 0:
            raise AssertionError("v(empty set) differs between rows")
        return phi, float(base[0])


def tree_shap_polynomial(ensemble, x):
    """SHAP values of one row by Lundberg et al.'s Algorithm 2 (independent cross-check).

    Returns phi [M]. Written from the paper's pseudocode: a path of
    (feature, zero fraction, one fraction, permutation weight) elements is
    extended at every node, a feature met twice on a path is unwound first,
    and each leaf adds value * weight * (one - zero) per path element.
    """
    x = np.asarray(x, dtype=np.float32)
    phi = np.zeros(ensemble.n_features)

    def extend(path, zero, one, feature):
        depth = len(path)
        path = [list(element) for element in path] + [[feature, zero, one, 1.0 if depth == 0 else 0.0]]
        for i in range(depth - 1, -1, -1):
            path[i + 1][3] += one * path[i][3] * (i + 1) / (depth + 1)
            path[i][3] = zero * path[i][3] * (depth - i) / (depth + 1)
        return path

    def unwind(path, index):
        depth = len(path) - 1
        _, zero, one, _ = path[index]
        path = [list(element) for element in path]
        carry = path[depth][3]
        for i in range(depth - 1, -1, -1):
            if one != 0:
                kept = path[i][3]
                path[i][3] = carry * (depth + 1) / ((i + 1) * one)
                carry = kept - path[i][3] * zero * (depth - i) / (depth + 1)
            else:
                path[i][3] = path[i][3] * (depth + 1) / (zero * (depth - i))
        for i in range(index, depth):
            path[i][:3] = path[i + 1][:3]
        return path[:depth]

    def unwound_sum(path, index):
        depth = len(path) - 1
        _, zero, one, _ = path[index]
        total = 0.0
        if one != 0:
            carry = path[depth][3]
            for i in range(depth - 1, -1, -1):
                share = carry / ((i + 1) * one)
                total += share
                carry = path[i][3] - share * zero * (depth - i)
        else:
            for i in range(depth - 1, -1, -1):
                total += path[i][3] / (zero * (depth - i))
        return total * (depth + 1)

    def recurse(tree, xt, node, path, zero, one, feature):
        path = extend(path, zero, one, feature)
        if tree.left[node] < 0:
            for i in range(1, len(path)):
                f, z, o, _ = path[i]
                phi[f] += unwound_sum(path, i) * (o - z) * tree.value[node]
            return
        split = tree.feature[node]
        if xt[split] <= tree.threshold[node]:
            hot, cold = tree.left[node], tree.right[node]
        else:
            hot, cold = tree.right[node], tree.left[node]
        incoming_zero = incoming_one = 1.0
        seen = [i for i in range(len(path)) if path[i][0] == split]
        if seen:
            incoming_zero, incoming_one = path[seen[0]][1], path[seen[0]][2]
            path = unwind(path, seen[0])
        recurse(tree, xt, hot, path, tree.cover[hot] / tree.cover[node] * incoming_zero, incoming_one, split)
        recurse(tree, xt, cold, path, tree.cover[cold] / tree.cover[node] * incoming_zero, 0.0, split)

    for tree in ensemble.trees:
        recurse(tree, x.astype(tree.threshold.dtype), 0, [], 1.0, 1.0, -1)
    return phi


FIXTURE_TOLERANCE = 1e-6          # what the service's explainer must match the fixture to
FLOAT64_TOLERANCE = 1e-9          # float64 sums against float64 traversals
ONNXRUNTIME_LOGIT_TOLERANCE = 1e-5  # against logit(onnxruntime's float32 probability)


def logit(probability):
    probability = np.asarray(probability, dtype=np.float64)
    return np.log(probability) - np.log1p(-probability)


def explain_and_verify(onnx_bytes, model, rows, train_rows, onnxruntime_probability, cross_check_every=5):
    """SHAP values of rows from the ONNX trees, and every check the fixture and card rely on.

    rows: the rows to explain (the parity rows), onnxruntime_probability: the
    onnxruntime-node P(churn) of those rows, train_rows: the training split
    (for the base value and the global importance), model: the fitted sklearn
    model the ONNX file was exported from.

    Returns a dict with shap [rows, M], raw (base + sum of shap), base_value,
    mean_abs_shap_train [M] and the measured errors; raises AssertionError
    listing every failed check.
    """
    ensemble = TreeEnsemble.from_onnx(onnx_bytes)
    reference = TreeEnsemble.from_sklearn(model)
    problems = []
    measured = {}

    def check(name, error, tolerance):
        measured[name] = float(error)
        if not error <= tolerance:
            problems.append("%s: %.3g > %g" % (name, error, tolerance))

    phi, base_value = ensemble.shap_values(rows)
    raw = base_value + phi.sum(axis=1)
    train_phi, train_base = ensemble.shap_values(train_rows)

    # Local accuracy against the same trees walked the ordinary way, and the
    # base value against the mean raw score of the training rows.
    check("local_accuracy_vs_onnx_trees", np.abs(raw - ensemble.raw(rows)).max(), FLOAT64_TOLERANCE)
    check("local_accuracy_vs_onnx_trees_train_rows",
          np.abs(train_base + train_phi.sum(axis=1) - ensemble.raw(train_rows)).max(), FLOAT64_TOLERANCE)
    check("base_value_vs_mean_train_raw", abs(base_value - ensemble.raw(train_rows).mean()), FLOAT64_TOLERANCE)
    check("base_value_same_for_train_rows", abs(base_value - train_base), 0.0)

    # Against onnxruntime itself: its probability is float32 (score summed in
    # float32, then its logistic), so compare logits with a float32-sized tolerance.
    check("local_accuracy_vs_onnxruntime_logit", np.abs(raw - logit(onnxruntime_probability)).max(),
          ONNXRUNTIME_LOGIT_TOLERANCE)
    measured["sigmoid_raw_vs_onnxruntime_probability"] = float(
        np.abs(1.0 / (1.0 + np.exp(-raw)) - onnxruntime_probability).max())

    # The same computation on sklearn's float64 trees reproduces
    # decision_function to float64 precision; the ONNX leaf weights and base
    # value are float32, which moves the SHAP values by far less than the
    # fixture tolerance.
    sk_phi, sk_base = reference.shap_values(rows)
    decision = model.decision_function(rows)
    check("sklearn_trees_raw_vs_decision_function", np.abs(reference.raw(rows) - decision).max(), FLOAT64_TOLERANCE)
    check("sklearn_trees_local_accuracy_vs_decision_function",
          np.abs(sk_base + sk_phi.sum(axis=1) - decision).max(), FLOAT64_TOLERANCE)
    check("sklearn_trees_base_value_vs_mean_train_decision_function",
          abs(sk_base - model.decision_function(train_rows).mean()), FLOAT64_TOLERANCE)
    check("onnx_vs_sklearn_trees_shap", np.abs(phi - sk_phi).max(), FIXTURE_TOLERANCE)
    measured["onnx_vs_sklearn_trees_raw"] = float(np.abs(raw - decision).max())

    # Algorithm 2 (polynomial TreeSHAP, an independent implementation) on a sample.
    sample = np.arange(0, len(rows), cross_check_every)
    polynomial = np.array([tree_shap_polynomial(ensemble, rows[i]) for i in sample])
    check("polynomial_treeshap_vs_brute_force", np.abs(polynomial - phi[sample]).max(), FLOAT64_TOLERANCE)
    measured["polynomial_treeshap_rows_checked"] = int(len(sample))

    if problems:
        raise AssertionError("SHAP REFERENCE CHECK FAILED:\n  " + "\n  ".join(problems))
    return {
        "shap": phi,
        "raw": raw,
        "base_value": base_value,
        "mean_abs_shap_train": np.abs(train_phi).mean(axis=0),
        "checks": measured,
    }
