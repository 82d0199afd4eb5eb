"""Parity proof between the sklearn model and its ONNX export.

Builds the parity rows (every hold-out row plus edge rows at the API range
bounds and around every tree threshold), runs the ONNX model through
onnxruntime-node via training/onnx_predict.mjs (release.run_onnx), and compares.
"""

import itertools

import numpy as np

from features import FEATURE_MAXIMA, FEATURE_MINIMA, FEATURE_NAMES, INTEGER_FEATURES
from onnx_export import INPUT_NAME, LABEL_OUTPUT, PROBABILITY_OUTPUT, float32_at_or_below

TOLERANCE = 1e-5


def edge_rows(model, holdout_features):
    """Rows that probe the corners of the input space, as (features, note) pairs.

    All rows stay inside the API valid ranges and keep integer features
    integral, so the service can replay them through its HTTP validation.
    """
    typical = np.median(holdout_features, axis=0).astype(np.float32)
    typical[INTEGER_FEATURES] = np.round(typical[INTEGER_FEATURES])  # a median can fall between integers
    rows = []

    # Every combination of per-feature min/max: includes all-min and all-max.
    for corner in itertools.product([False, True], repeat=len(FEATURE_NAMES)):
        rows.append((np.where(corner, FEATURE_MAXIMA, FEATURE_MINIMA), "range corner"))

    # Each bound on its own, with the other features at typical values.
    for index, name in enumerate(FEATURE_NAMES):
        for bound, values in (("min", FEATURE_MINIMA), ("max", FEATURE_MAXIMA)):
            row = typical.copy()
            row[index] = values[index]
            rows.append((row, "%s at %s, others typical" % (name, bound)))

    # Hand-picked combinations the service will meet or must survive.
    specials = {
        "brand-new customer: tenure 0, total 0": [0, typical[1], 0, typical[3], typical[4]],
        "tenure 0, total 0, all other minima": [0, 0, 0, 1, 0],
        "monthly 0, total 1e6": [typical[0], 0, 1_000_000, typical[3], typical[4]],
        "tenure 0, monthly 500, total 0": [0, 500, 0, 10, 1],
        "tenure 120, monthly 0, total 0": [120, 0, 0, 1, 0],
        "tenure 120, monthly 500, total 60000": [120, 500, 60_000, 10, 1],
    }
    for note, values in specials.items():
        rows.append((np.array(values, dtype=np.float32), note))

    # Values exactly at and just above every split threshold, so a threshold
    # rounded the wrong way in the export would flip a branch and show up here.
    # The other features come from hold-out rows in turn, to reach many paths.
    for position, (index, threshold) in enumerate(split_thresholds(model)):
        base = holdout_features[position % len(holdout_features)]
        if index in INTEGER_FEATURES:
            probes = [np.floor(threshold), np.ceil(threshold)]
        else:
            at_or_below = np.float32(float32_at_or_below(threshold))
            probes = [at_or_below, np.nextafter(at_or_below, np.float32(np.inf))]
        for probe, side in zip(probes, ("at/below", "above")):
            row = base.copy()
            row[index] = probe
            rows.append((row, "%s %s threshold %r" % (FEATURE_NAMES[index], side, threshold)))

    return [(np.asarray(row, dtype=np.float32), note) for row, note in rows]


def split_thresholds(model):
    """Sorted unique (feature index, threshold) pairs of a tree ensemble; none for linear models."""
    if not hasattr(model, "estimators_"):
        return []
    pairs = set()
    for estimator in model.estimators_.ravel():
        tree = estimator.tree_
        internal = tree.children_left != -1
        pairs.update(zip(tree.feature[internal].tolist(), tree.threshold[internal].tolist()))
    return sorted(pairs)


def check_parity(onnx_output, sklearn_probability):
    """Raise AssertionError unless the ONNX outputs match sklearn within TOLERANCE.

    Returns the maximum absolute probability difference.
    """
    rows = len(sklearn_probability)
    problems = []
    if onnx_output["inputs"] != [INPUT_NAME]:
        problems.append("input names %s" % onnx_output["inputs"])
    if onnx_output["outputs"] != [LABEL_OUTPUT, PROBABILITY_OUTPUT]:
        problems.append("output names %s" % onnx_output["outputs"])
    if onnx_output["tensors"]["label"] != {"type": "int64", "dims": [rows]}:
        problems.append("label tensor %s" % onnx_output["tensors"]["label"])
    if onnx_output["tensors"]["probabilities"] != {"type": "float32", "dims": [rows, 2]}:
        problems.append("probabilities tensor %s" % onnx_output["tensors"]["probabilities"])

    probabilities = np.array(onnx_output["probabilities"], dtype=np.float64)
    labels = np.array(onnx_output["label"])
    errors = np.abs(probabilities[:, 1] - sklearn_probability)
    max_error = float(errors.max())
    if max_error > TOLERANCE:
        worst = int(errors.argmax())
        problems.append("max |p_onnx - p_sklearn| = %.3g at row %d (onnx %r, sklearn %r)"
                        % (max_error, worst, probabilities[worst, 1], sklearn_probability[worst]))
    column_sum_error = float(np.abs(probabilities.sum(axis=1) - 1).max())
    if column_sum_error > TOLERANCE:
        problems.append("probability columns do not sum to 1 (off by %.3g)" % column_sum_error)
    mismatched = np.flatnonzero(labels != (sklearn_probability >= 0.5))
    if mismatched.size:
        problems.append("%d labels differ from sklearn p >= 0.5, e.g. row %d"
                        % (mismatched.size, mismatched[0]))

    if problems:
        raise AssertionError("ONNX/sklearn PARITY FAILED:\n  " + "\n  ".join(problems))
    return max_error
