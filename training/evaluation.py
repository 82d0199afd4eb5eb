"""Hold-out calibration and operating points for the model card.

Both use the probabilities the service will see: onnxruntime-node's float32
P(churn) for the shipped ONNX file, widened to float64 (a JavaScript number
read from a Float32Array), compared with float64 bounds and thresholds.
"""

import numpy as np

CALIBRATION_BINS = 10
OPERATING_THRESHOLDS = [round(k / 10, 1) for k in range(1, 10)]


def _rounded(value):
    return None if value is None else round(float(value), 6)


def calibration_table(labels, probability):
    """Equal-width bins [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0] (the last one includes 1.0)."""
    inner = np.array([round(k / CALIBRATION_BINS, 1) for k in range(1, CALIBRATION_BINS)])
    bins = np.searchsorted(inner, probability, side="right")  # number of bounds <= p
    table = []
    for b in range(CALIBRATION_BINS):
        in_bin = bins == b
        rows = int(in_bin.sum())
        table.append({
            "lower": round(b / CALIBRATION_BINS, 1),
            "upper": round((b + 1) / CALIBRATION_BINS, 1),
            "rows": rows,
            "mean_predicted": _rounded(probability[in_bin].mean()) if rows else None,
            "observed_churn_rate": _rounded(labels[in_bin].mean()) if rows else None,
        })
    if sum(entry["rows"] for entry in table) != len(probability):
        raise AssertionError("calibration bins lost rows")
    return table


def operating_points(labels, probability, thresholds=OPERATING_THRESHOLDS):
    """Flag = probability >= threshold: how many are flagged, and how good the flags are."""
    positives = int(labels.sum())
    points = []
    for threshold in thresholds:
        flagged = probability >= threshold
        count = int(flagged.sum())
        hits = int(labels[flagged].sum())
        points.append({
            "threshold": threshold,
            "flagged": count,
            "flagged_share": _rounded(count / len(labels)),
            "precision": _rounded(hits / count) if count else None,
            "recall": _rounded(hits / positives),
        })
    return points
