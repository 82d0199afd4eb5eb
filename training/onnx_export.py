"""Export the fitted sklearn models to ONNX with onnx.helper (skl2onnx is not
available on the build machine).

Graph contract, whichever model is exported:
  input   features       float32 [N, 5]  (columns in features.FEATURE_NAMES order)
  output  label          int64   [N]     (1 = churn)
  output  probabilities  float32 [N, 2]  (column 1 = churn probability)
All preprocessing lives in the graph and the outputs are plain tensors: no
ZipMap, because onnxruntime-node cannot return ONNX maps.
"""

import json

import numpy as np
import onnx
from onnx import TensorProto, helper

from features import FEATURE_NAMES

INPUT_NAME = "features"
LABEL_OUTPUT = "label"
PROBABILITY_OUTPUT = "probabilities"

# onnx 1.12 understands IR version 8 at most; ai.onnx.ml opset 3 is the
# newest it knows and onnxruntime 1.30 runs its float-attribute tree ensembles.
IR_VERSION = 8
OPSET_IMPORTS = [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]


def float32_at_or_below(threshold):
    """Largest float32 that is <= the float64 threshold.

    sklearn trees test float64(x) <= threshold with float32 x; the ONNX tree
    tests x <= t' in float32. With t' chosen this way both tests agree for
    every float32 x, so ONNX always takes the same branch as sklearn.
    """
    rounded = np.float32(threshold)
    if float(rounded) > threshold:
        rounded = np.nextafter(rounded, np.float32(-np.inf))
    return float(rounded)


def gradient_boosting_to_onnx(model, doc_string, metadata):
    """Binary GradientBoostingClassifier -> one TreeEnsembleClassifier node.

    The ensemble accumulates the raw log-odds score for class 1 (base value =
    the model's initial prediction, leaf weight = learning_rate * leaf value,
    all under a single class id), and post_transform LOGISTIC turns it into
    probabilities [1 - p, p], like skl2onnx does for binary boosting.

    nodes_hitrates carries each node's training cover (sklearn
    weighted_n_node_samples: the training rows that reach the node), in
    nodes_nodeids order. onnxruntime ignores it for inference; the service's
    TreeSHAP explainer reads it, with the trees, base_values and
    class_weights, from this same file (see training/README.md).
    """
    # The default init (a prior DummyClassifier) starts every row at the
    # training log-odds; other inits would need a different base value.
    if model.n_classes_ != 2 or not hasattr(model.init_, "class_prior_"):
        raise ValueError("only binary GradientBoostingClassifier with the default init is supported")
    prior = model.init_.class_prior_[1]
    base_score = float(np.log(prior / (1.0 - prior)))

    nodes = {key: [] for key in (
        "treeids", "nodeids", "featureids", "modes", "values", "truenodeids", "falsenodeids",
        "hitrates")}
    leaves = {key: [] for key in ("treeids", "nodeids", "ids", "weights")}

    for tree_id, estimator in enumerate(model.estimators_[:, 0]):
        tree = estimator.tree_
        for node_id in range(tree.node_count):
            is_leaf = tree.children_left[node_id] == -1
            nodes["treeids"].append(tree_id)
            nodes["nodeids"].append(node_id)
            nodes["hitrates"].append(_exact_float32_cover(tree.weighted_n_node_samples[node_id]))
            if is_leaf:
                nodes["featureids"].append(0)
                nodes["modes"].append("LEAF")
                nodes["values"].append(0.0)
                nodes["truenodeids"].append(0)
                nodes["falsenodeids"].append(0)
                leaves["treeids"].append(tree_id)
                leaves["nodeids"].append(node_id)
                leaves["ids"].append(0)
                leaves["weights"].append(float(model.learning_rate * tree.value[node_id, 0, 0]))
            else:
                # sklearn sends x <= threshold to the left child.
                nodes["featureids"].append(int(tree.feature[node_id]))
                nodes["modes"].append("BRANCH_LEQ")
                nodes["values"].append(float32_at_or_below(tree.threshold[node_id]))
                nodes["truenodeids"].append(int(tree.children_left[node_id]))
                nodes["falsenodeids"].append(int(tree.children_right[node_id]))

    ensemble = helper.make_node(
        "TreeEnsembleClassifier",
        inputs=[INPUT_NAME],
        outputs=[LABEL_OUTPUT, PROBABILITY_OUTPUT],
        name="gradient_boosted_trees",
        domain="ai.onnx.ml",
        classlabels_int64s=[0, 1],
        post_transform="LOGISTIC",
        base_values=[base_score],
        nodes_treeids=nodes["treeids"],
        nodes_nodeids=nodes["nodeids"],
        nodes_featureids=nodes["featureids"],
        nodes_modes=nodes["modes"],
        nodes_values=nodes["values"],
        nodes_truenodeids=nodes["truenodeids"],
        nodes_falsenodeids=nodes["falsenodeids"],
        nodes_hitrates=nodes["hitrates"],
        class_treeids=leaves["treeids"],
        class_nodeids=leaves["nodeids"],
        class_ids=leaves["ids"],
        class_weights=leaves["weights"],
    )
    return _build_model([ensemble], doc_string, metadata)


def _exact_float32_cover(cover):
    """A node cover as a float that float32 (the attribute's type) holds exactly.

    Without sample weights covers are row counts, exact in float32 up to 2**24;
    anything else would silently perturb the SHAP values, so refuse it.
    """
    cover = float(cover)
    if float(np.float32(cover)) != cover:
        raise ValueError("node cover %r is not exactly representable in float32" % cover)
    return cover


def logistic_regression_to_onnx(pipeline, doc_string, metadata):
    """StandardScaler + LogisticRegression pipeline -> Scaler -> LinearClassifier."""
    scaler = pipeline.named_steps["standardscaler"]
    classifier = pipeline.named_steps["logisticregression"]
    scale = helper.make_node(
        "Scaler",
        inputs=[INPUT_NAME],
        outputs=["scaled_features"],
        name="standard_scaler",
        domain="ai.onnx.ml",
        offset=[float(v) for v in scaler.mean_],
        scale=[float(1.0 / v) for v in scaler.scale_],
    )
    linear = helper.make_node(
        "LinearClassifier",
        inputs=["scaled_features"],
        outputs=[LABEL_OUTPUT, PROBABILITY_OUTPUT],
        name="logistic_regression",
        domain="ai.onnx.ml",
        classlabels_ints=[0, 1],
        coefficients=[float(v) for v in classifier.coef_.ravel()],
        intercepts=[float(v) for v in classifier.intercept_],
        post_transform="LOGISTIC",
    )
    return _build_model([scale, linear], doc_string, metadata)


def _build_model(nodes, doc_string, metadata):
    """Wrap the nodes with the fixed input/output contract, metadata and checks."""
    graph = helper.make_graph(
        nodes,
        "churn_model",
        inputs=[helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", len(FEATURE_NAMES)])],
        outputs=[
            helper.make_tensor_value_info(LABEL_OUTPUT, TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info(PROBABILITY_OUTPUT, TensorProto.FLOAT, ["N", 2]),
        ],
    )
    model = helper.make_model(
        graph,
        producer_name="churn-service training/train.py",
        producer_version=metadata["model_version"],
        doc_string=doc_string,
        opset_imports=OPSET_IMPORTS,
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {
        "feature_names": json.dumps(FEATURE_NAMES),
        **metadata,
    })
    onnx.checker.check_model(model, full_check=True)
    return model
