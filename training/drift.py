"""Training-data profile for drift monitoring (PSI), written to the model card.

Bin rule, which the service implements exactly:
  kind "values": one share per integer of the feature's valid range, in order;
                 a value counts towards the share of the equal integer.
  kind "bins":   edges e_0 < ... < e_{k-2} are the inner cut points; a value v
                 falls in bin number = how many edges e satisfy v > e, i.e. the
                 bins (-inf, e_0], (e_0, e_1], ..., (e_{k-2}, +inf): k shares.
Values are the float32 model inputs (or float32 probabilities) compared as
float64. Shares are the training rows' fractions per bin, computed with this
very rule, so they are not assumed to be 10 % each (ties and repeated values
make them uneven).
"""

import numpy as np

QUANTILES = [round(k / 10, 1) for k in range(1, 10)]
MAX_VALUES_KIND = 20  # integer features with at most this many valid values get one share per value

BIN_RULE = (
    "kind 'values': one share per integer of the feature's valid range, in the order of "
    "'values'; a value counts towards the share of the equal integer. kind 'bins': 'edges' "
    "are the inner cut points, ascending and deduplicated, from the training quantiles at "
    "0.1, 0.2, ..., 0.9 (numpy linear interpolation); a value v falls in bin number = the "
    "number of edges e with v > e, i.e. bins (-inf, e_0], (e_0, e_1], ..., (e_last, +inf), "
    "len(edges) + 1 shares. v is the float32 model input (for the score: the float32 "
    "P(churn) from onnxruntime) compared as float64. 'shares' are the training rows' "
    "fractions per bin computed with exactly this rule; they sum to 1 and can be 0 (e.g. "
    "for a value never seen in training), so a PSI computation needs a floor for empty bins."
)


def bin_index(values, edges):
    """The bin rule: number of edges e with v > e, for every value."""
    values = np.asarray(values, dtype=np.float64)
    return (values[:, None] > np.asarray(edges, dtype=np.float64)[None, :]).sum(axis=1)


def bins_profile(name, values):
    values = np.asarray(values).astype(np.float64)
    edges = np.unique(np.quantile(values, QUANTILES, method="linear"))
    counts = np.bincount(bin_index(values, edges), minlength=len(edges) + 1)
    return {"name": name, "kind": "bins", "edges": [float(e) for e in edges],
            "shares": _shares(counts, len(values))}


def values_profile(name, values, minimum, maximum):
    values = np.asarray(values).astype(np.float64)
    allowed = np.arange(int(minimum), int(maximum) + 1)
    counts = (values[:, None] == allowed[None, :].astype(np.float64)).sum(axis=0)
    if counts.sum() != len(values):
        raise ValueError("%s has training values outside %d..%d or not integral" % (name, minimum, maximum))
    return {"name": name, "kind": "values", "values": [int(v) for v in allowed],
            "shares": _shares(counts, len(values))}


def _shares(counts, rows):
    shares = [float(c) / rows for c in counts]
    if abs(sum(shares) - 1.0) > 1e-12:
        raise AssertionError("shares do not sum to 1")
    return shares


def drift_reference(features, feature_specs, score, model_file="models/churn_model.onnx"):
    """Profile of every feature (in column order) and of the score (of model_file) on the training rows."""
    profiles = []
    for index, spec in enumerate(feature_specs):
        column = features[:, index]
        value_count = spec.maximum - spec.minimum + 1
        if spec.kind == "integer" and value_count <= MAX_VALUES_KIND:
            profiles.append(values_profile(spec.name, column, spec.minimum, spec.maximum))
        else:
            profiles.append(bins_profile(spec.name, column))
    return {
        "rows": int(len(features)),
        "bin_rule": BIN_RULE,
        "features": profiles,
        "score": dict(bins_profile("churn_probability", score),
                      source="probabilities[:, 1] of %s from onnxruntime-node "
                             "(float32) on the training rows" % model_file),
    }
