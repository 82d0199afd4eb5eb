#!/usr/bin/python3
"""The released model's reference calibrator, for the service's performance estimate (CBPE).

    /usr/bin/python3 training/reference_calibration.py [--data PATH]

NannyML's CBPE does not estimate from a model's raw probabilities: it first fits a calibrator
(isotonic regression by default) on reference data, labeled customers the model was not trained
on, and estimates from the calibrated probabilities. This script does the same for the committed
models/churn_model.onnx: it re-derives train.py's hold-out split (stratified, seed 42), scores
those customers with the file itself through onnxruntime-node (the probabilities the service
serves), fits sklearn's IsotonicRegression of their outcomes on those probabilities and writes

- models/churn_model.calibration.json: the fitted step function, bound to the model file by its
  sha256 (the service refuses a calibrator of another file);
- test/fixtures/reference-calibration.json: sklearn's own predictions of that calibrator at many
  points, which the service's interpolation must reproduce.

The model file and its card are only read, never changed. train.py writes the same two files
with every new model (write_reference_calibration). See training/README.md.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedShuffleSplit

from release import (
    CARD_PATH, DEFAULT_DATA, HOLDOUT_FRACTION, ONNX_PATH, REPO_ROOT, SEED, holdout_split, run_onnx, write_atomically,
)

# Beside the model, under a fixed name as model_card.json is (src/data-plane/reference-calibration.ts).
CALIBRATION_FILE = "churn_model.calibration.json"
FIXTURE_NAME = "reference-calibration.json"
METHOD = (
    "isotonic regression of the hold-out customers' churn outcomes on the model's served "
    "probabilities (sklearn IsotonicRegression(out_of_bounds='clip', y_min=0, y_max=1, "
    "increasing=True)), as NannyML's CBPE calibrates on its reference data; applied by linear "
    "interpolation between (x_thresholds, y_thresholds), clipped to the first and last threshold "
    "(sklearn's predict)"
)
# NannyML's needs_calibration: 10 stratified shuffle splits holding out 10 %, ECE over 10 equal-count bins.
CHECK_SPLITS = 10
CHECK_TEST_SIZE = 0.1
CHECK_BINS = 10
CHECK_SEED = 42


def calibration_path_for(model_path):
    return model_path.parent / CALIBRATION_FILE


def fit_calibrator(probability, labels):
    """IsotonicRegression of the outcomes (0/1) on the served probabilities."""
    return IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1, increasing=True).fit(
        np.asarray(probability, dtype=np.float64), np.asarray(labels, dtype=np.float64))


def _equal_count_ece(labels, probability, bins):
    """ECE over bins of equal row counts of the sorted probabilities (NannyML's definition)."""
    order = np.argsort(probability, kind="stable")
    probability, labels = probability[order], labels[order]
    n = len(probability)
    count = bins if n > 2 * bins else n // 2
    width = n // count
    edges = list(range(0, n + 1, width))
    edges[-1] = n
    return float(sum((right - left) / n * abs(probability[left:right].mean() - labels[left:right].mean())
                     for left, right in zip(edges[:-1], edges[1:])))


def calibration_check(probability, labels):
    """Whether isotonic calibration helps these probabilities, as NannyML's needs_calibration asks:
    out-of-sample ECE before vs after, over 10 stratified 90/10 splits of the reference rows."""
    labels = np.asarray(labels)
    splits = StratifiedShuffleSplit(n_splits=CHECK_SPLITS, test_size=CHECK_TEST_SIZE, random_state=CHECK_SEED)
    raw, calibrated, outcomes = [], [], []
    for train, test in splits.split(probability, labels):
        calibrator = fit_calibrator(probability[train], labels[train])
        raw.append(probability[test])
        calibrated.append(calibrator.predict(probability[test]))
        outcomes.append(labels[test])
    raw, calibrated, outcomes = np.concatenate(raw), np.concatenate(calibrated), np.concatenate(outcomes)
    before = _equal_count_ece(outcomes, raw, CHECK_BINS)
    after = _equal_count_ece(outcomes, calibrated, CHECK_BINS)
    return {
        "rule": "NannyML's needs_calibration: ECE over %d equal-count bins of the held-out rows of %d "
                "stratified shuffle splits (%d %% held out, seed %d), raw vs isotonic fitted on the rest"
                % (CHECK_BINS, CHECK_SPLITS, round(CHECK_TEST_SIZE * 100), CHECK_SEED),
        "ece_raw": round(before, 6),
        "ece_calibrated": round(after, 6),
        "calibration_helps": bool(after < before),
    }


def calibration_document(calibrator, model_version, model_sha256, rows, source, check):
    """The companion file's content. Thresholds are written at full double precision."""
    x = calibrator.X_thresholds_.astype(np.float64)
    y = calibrator.y_thresholds_.astype(np.float64)
    if not (np.all(np.diff(x) > 0) and np.all(np.diff(y) >= 0) and y.min() >= 0 and y.max() <= 1):
        raise AssertionError("isotonic thresholds are not an increasing step function in [0, 1]")
    return {
        "model_version": model_version,
        "model_sha256": model_sha256,
        "method": METHOD,
        "fitted_on": {"rows": int(rows), "source": source},
        "check": check,
        "x_thresholds": [float(v) for v in x],
        "y_thresholds": [float(v) for v in y],
    }


def fixture_document(calibrator, document, probability):
    """sklearn's predict at the reference probabilities, at every threshold and its neighbours,
    between thresholds, outside their range and on a 0.001 grid: the service must match each."""
    x = calibrator.X_thresholds_.astype(np.float64)
    points = np.concatenate([
        probability,
        x, np.nextafter(x, -np.inf), np.nextafter(x, np.inf),
        (x[:-1] + x[1:]) / 2,
        [0.0, 1.0, x[0] / 2, (x[-1] + 1) / 2],
        np.round(np.arange(0, 1001) / 1000, 3),
    ])
    predicted = calibrator.predict(points)
    return {
        "generated_by": "training/reference_calibration.py",
        "model_version": document["model_version"],
        "model_sha256": document["model_sha256"],
        "description": "sklearn IsotonicRegression.predict of models/churn_model.calibration.json's "
                       "calibrator at each x: the hold-out probabilities it was fitted on, every "
                       "threshold and the doubles either side of it, midpoints, points outside the "
                       "thresholds and a 0.001 grid.",
        "points": [{"x": float(a), "y": float(b)} for a, b in zip(points, predicted)],
    }


def write_reference_calibration(model_path, repo_root, probability, labels, model_version, model_sha256, rows_source, write,
                                with_fixture=True):
    """Fit, check and write the calibrator (and, for the bundled model, its test fixture) with `write(path, bytes)`; returns the document."""
    calibrator = fit_calibrator(probability, labels)
    check = calibration_check(probability, labels)
    document = calibration_document(calibrator, model_version, model_sha256, len(labels), rows_source, check)
    print("reference calibration: isotonic on %d rows, %d thresholds; out-of-sample ECE raw %.4f, "
          "calibrated %.4f%s" % (len(labels), len(document["x_thresholds"]), check["ece_raw"], check["ece_calibrated"],
                                 "" if check["calibration_helps"] else " (NannyML would not calibrate these)"))
    path = calibration_path_for(model_path)
    fixture = repo_root / "test" / "fixtures" / FIXTURE_NAME
    write(path, (json.dumps(document, indent=2) + "\n").encode())
    written_paths = [path]
    if with_fixture:
        write(fixture, (json.dumps(fixture_document(calibrator, document, probability)) + "\n").encode())
        written_paths.append(fixture)
    for written in written_paths:
        shown = written.relative_to(repo_root) if written.is_relative_to(repo_root) else written
        print("wrote %s (%d bytes)" % (shown, written.stat().st_size))
    return document


def holdout_calibration_source(rows):
    return ("the %d hold-out customers of training/train.py's split (stratified, %d %%, seed %d), "
            "scored by this model file with onnxruntime-node" % (rows, round(HOLDOUT_FRACTION * 100), SEED))


def main():
    from evaluation import calibration_table
    from features import load_dataset

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO_ROOT / DEFAULT_DATA,
                        help="Telco churn CSV (default: %s relative to the repo root)" % DEFAULT_DATA)
    args = parser.parse_args()

    features, labels, _ = load_dataset(args.data)
    _, holdout_x, _, holdout_y = holdout_split(features, labels)

    # The card is bound to the model file both ways (card_binding.py; the service checks it at
    # load): when it names this file's sha256, its model_version is the file's.
    model_sha256 = hashlib.sha256(ONNX_PATH.read_bytes()).hexdigest()
    card = json.loads(CARD_PATH.read_text())
    if card["onnx"]["sha256"] != model_sha256:
        sys.exit("FAILED: %s (sha256 %s) is not the model %s describes; nothing written."
                 % (ONNX_PATH.name, model_sha256[:12], CARD_PATH.name))

    served = np.array(run_onnx(ONNX_PATH, holdout_x)["probabilities"], dtype=np.float64)[:, 1]
    # The card's calibration table was computed on these very rows and probabilities: equal
    # tables show the split and the served probabilities are the ones training used.
    if calibration_table(holdout_y, served) != card["calibration"]:
        sys.exit("FAILED: the re-derived hold-out rows do not reproduce the card's calibration table "
                 "(another split or another model?); nothing written.")
    print("hold-out: %d rows; their served probabilities reproduce the card's calibration table" % len(holdout_y))
    write_reference_calibration(ONNX_PATH, REPO_ROOT, served, holdout_y, card["model_version"], model_sha256,
                                holdout_calibration_source(len(holdout_y)), write_atomically)


if __name__ == "__main__":
    main()
