#!/usr/bin/python3
"""Train the churn model and regenerate every model artifact.

    /usr/bin/python3 training/train.py --version X.Y.Z [--data PATH]
    /usr/bin/python3 training/train.py --version X.Y.Z[-PRE] --candidate NAME --out DIR [--data PATH]

Writes models/churn_model.onnx, models/model_card.json (the two bound to each
other both ways, see card_binding.py), test/fixtures/parity.json and
test/fixtures/shap.json, but only after the exported ONNX model has been shown
(via onnxruntime-node) to reproduce the sklearn probabilities on every parity
row, the exact SHAP values computed from the ONNX file have passed their
checks, and only when --version does not already name a different committed
model. See training/README.md.

With --candidate the selection is skipped: only the named candidate (one point
of the selection's list) is cross-validated and trained, with the same split,
checks and card, and its card says it was named, not chosen. Its files go to
--out (churn_model.onnx, model_card.json, parity.json, and shap.json for a tree
ensemble), never to models/. --out alone writes the selected model there.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import sklearn
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

from card_binding import CARD_SHA256_KEY, PLACEHOLDER_SHA256, card_content_sha256, set_metadata
from drift import drift_reference
from evaluation import calibration_table, operating_points
from features import FEATURE_NAMES, FEATURES, load_dataset
from onnx_export import (
    INPUT_NAME, IR_VERSION, LABEL_OUTPUT, OPSET_IMPORTS, PROBABILITY_OUTPUT,
    gradient_boosting_to_onnx, logistic_regression_to_onnx,
)
import linear_explanation
from parity import TOLERANCE, check_parity, edge_rows
from reference_calibration import holdout_calibration_source, write_reference_calibration
from release import (
    CARD_PATH, DEFAULT_DATA, HOLDOUT_FRACTION, ONNX_PATH, REPO_ROOT, SEED, holdout_split,
    run_onnx, write_atomically,
)
from selection import CV_FOLDS, GRADIENT_BOOSTING_GRID, named_candidate, parse_candidate, select
from shap_reference import FIXTURE_TOLERANCE as SHAP_TOLERANCE
from shap_reference import explain_and_verify

MIN_CV_AUC = 0.82  # release gate on the chosen model's mean train CV ROC AUC

PARITY_PATH = REPO_ROOT / "test" / "fixtures" / "parity.json"
SHAP_PATH = REPO_ROOT / "test" / "fixtures" / "shap.json"


@dataclass(frozen=True)
class Layout:
    """Where one run writes its four files; the bundled layout unless --out names a directory."""
    onnx: Path
    card: Path
    parity: Path
    shap: Path

    @classmethod
    def bundled(cls):
        return cls(ONNX_PATH, CARD_PATH, PARITY_PATH, SHAP_PATH)

    @classmethod
    def in_directory(cls, directory):
        directory = directory.resolve()
        return cls(directory / ONNX_PATH.name, directory / CARD_PATH.name,
                   directory / PARITY_PATH.name, directory / SHAP_PATH.name)


def shown(path):
    """A written file as the card and fixtures name it: relative to the repo root when inside it."""
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


# %s: the ONNX file whose trees the values are computed from.
SHAP_METHOD = (
    "Exact path-dependent TreeSHAP (the shap library's TreeExplainer with "
    "feature_perturbation='tree_path_dependent', Lundberg et al. 2018), computed by brute force "
    "over all 2^5 feature coalitions from the trees, float32 thresholds (x <= threshold -> true "
    "node, BRANCH_LEQ), leaf weights (class_weights), base_values and covers (nodes_hitrates) "
    "stored in %s: v(S) = base score + sum over trees of the tree's "
    "expected value when it follows x on splits of features in S and takes the cover-weighted "
    "average of both children otherwise; phi_i = sum over S not containing i of "
    "|S|!(M-|S|-1)!/M! (v(S+i) - v(S)); base_value = v(empty set) = mean raw score of the "
    "training rows. Output explained: the raw score, log-odds of churn (probability = "
    "sigmoid(raw))."
)

HAS_SUPPORT_CALLS_CAVEAT = (
    "The training data has no support-call log. has_support_calls is derived from the "
    "TechSupport add-on (TechSupport == \"Yes\" -> 1), so the model learned the effect of "
    "having the tech-support add-on, not of having called support. Feeding real "
    "support-call flags gives predictions the model was never trained to make."
)

# How each candidate behaves beyond the data it saw, for the model card.
EXTRAPOLATION = {
    "logistic_regression": "Outside the observed values the linear log-odds keep growing, so "
                           "probabilities there are extrapolations that approach 0 or 1.",
    "gradient_boosting": "Beyond the outermost split of each feature the trees hold their "
                         "prediction constant, so such inputs score like the most extreme "
                         "observed customers; treat those predictions as extrapolations.",
}


def exporter_for(name):
    return {
        "logistic_regression": logistic_regression_to_onnx,
        "gradient_boosting": gradient_boosting_to_onnx,
    }[name]


def hyperparameters(model):
    """JSON-friendly hyperparameters; pipelines are reported step by step."""
    if hasattr(model, "named_steps"):
        return {step: estimator.get_params(deep=False) for step, estimator in model.named_steps.items()}
    return model.get_params(deep=False)


def holdout_metrics(labels, probability):
    return {
        "roc_auc": round(float(roc_auc_score(labels, probability)), 6),
        "log_loss": round(float(log_loss(labels, probability)), 6),
        "brier_score": round(float(brier_score_loss(labels, probability)), 6),
        "accuracy_at_0_5": round(float(accuracy_score(labels, probability >= 0.5)), 6),
    }


def creation_date():
    """UTC date of the run, or of SOURCE_DATE_EPOCH when set (for reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
              else datetime.datetime.now(datetime.timezone.utc))
    return moment.date().isoformat()


def onnxruntime_node_version():
    package = REPO_ROOT / "node_modules" / "onnxruntime-node" / "package.json"
    return json.loads(package.read_text())["version"]


def observed_range(features, index):
    # Rounded to cents: the CSV holds money with two decimals, float32 adds noise digits.
    column = features[:, index].astype(np.float64)
    return {"min": json_number(round(column.min(), 2)), "max": json_number(round(column.max(), 2))}


def observed_ranges_text(features):
    return ", ".join("%s %s-%s" % (name, *observed_range(features, i).values())
                     for i, name in enumerate(FEATURE_NAMES))


def json_number(value):
    """Integral values as JSON integers (the API's integer fields), others at full precision."""
    value = float(value)
    return int(value) if value.is_integer() else value


def parity_document(features, probability, kinds, notes, version):
    """parity.json text: header fields indented, one row per line for readable diffs."""
    header = {
        "feature_names": FEATURE_NAMES,
        "model_version": version,
        "tolerance": TOLERANCE,
        "description": "Inputs are float32-representable; probability is sklearn predict_proba[:, 1] "
                       "on exactly these float32 inputs. label = probability >= 0.5. "
                       "kind 'holdout' = every hold-out row, 'edge' = range bounds and split thresholds.",
    }
    rows = [
        json.dumps({
            "features": [json_number(v) for v in row],
            "probability": float(p),
            "label": int(p >= 0.5),
            "kind": kind,
            "note": note,
        })
        for row, p, kind, note in zip(features, probability, kinds, notes)
    ]
    head = json.dumps(header, indent=2)[:-2]  # drop the closing "\n}" to append rows
    return head + ',\n  "rows": [\n    ' + ",\n    ".join(rows) + "\n  ]\n}\n"


NUMBER = r"(0|[1-9][0-9]*)"
PRE_RELEASE_PART = r"(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMANTIC_VERSION = r"{n}\.{n}\.{n}(-{p}(\.{p})*)?".format(n=NUMBER, p=PRE_RELEASE_PART)


def semantic_version(text):
    """X.Y.Z, optionally with a SemVer 2.0 pre-release tag (X.Y.Z-rc.1) for a model on trial."""
    if not re.fullmatch(SEMANTIC_VERSION, text):
        raise argparse.ArgumentTypeError("%r is not a version of the form X.Y.Z or X.Y.Z-PRE (SemVer 2.0)" % text)
    return text


def committed_model(card_path=CARD_PATH):
    """The committed model card at card_path, with where it was read, or None if there is none.

    "Committed" is git HEAD of this repository, so a model written by an
    earlier run but not committed yet does not count as released. Outside a
    git checkout (a source archive, say), or for a card outside the
    repository (--out elsewhere), the card on disk stands in for it.
    The card names its model's version and the sha256 of its ONNX file.
    """
    inside_repo = card_path == REPO_ROOT / shown(card_path)
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=REPO_ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        in_git = Path(top).resolve() == REPO_ROOT
    except (OSError, subprocess.CalledProcessError):
        in_git = False
    if in_git and inside_repo:
        try:
            card_text = subprocess.run(["git", "show", "HEAD:" + shown(card_path)], cwd=REPO_ROOT, check=True,
                                       capture_output=True, text=True).stdout
        except subprocess.CalledProcessError:
            return None  # no model committed yet
        where = "git HEAD"
    else:
        if not card_path.exists():
            return None
        card_text = card_path.read_text()
        where = "%s/ (not a git checkout)" % shown(card_path.parent)
    return json.loads(card_text), where


def check_version_binding(version, onnx_sha256, created, card_path=CARD_PATH):
    """Exit, writing nothing, when the version already names a different committed model.

    Reusing the committed version is only allowed for a rerun that
    reproduces the committed ONNX bytes exactly. The ONNX file holds the
    hash of its card, and the card its creation date, so a rerun on another
    day reproduces them only with SOURCE_DATE_EPOCH set to the original day.
    """
    committed = committed_model(card_path)
    if committed is None:
        print("version %s: no committed model to compare with" % version)
        return
    committed_card, where = committed
    committed_version, committed_sha256 = committed_card["model_version"], committed_card["onnx"]["sha256"]
    if version != committed_version:
        print("version %s: new (committed model in %s is %s)" % (version, where, committed_version))
    elif onnx_sha256 == committed_sha256:
        print("version %s: reproduces the committed model byte for byte (sha256 %s)"
              % (version, onnx_sha256))
    else:
        hint = ""
        if committed_card.get("created") != created:
            hint = (" This run's card is dated %s, the committed one %s: set SOURCE_DATE_EPOCH to a time "
                    "on %s to reproduce it." % (created, committed_card.get("created"), committed_card.get("created")))
        sys.exit("FAILED: version %s already names the committed model in %s (onnx sha256 %s), "
                 "but this run built different ONNX bytes (sha256 %s). Give the new model a new "
                 "version with --version; no artifacts written.%s"
                 % (version, where, committed_sha256, onnx_sha256, hint))


def shap_document(features, explained, kinds, version, onnx_sha256, layout):
    """shap.json text: header fields indented, one row per line like parity.json."""
    header = {
        "feature_names": FEATURE_NAMES,
        "model_version": version,
        "onnx_sha256": onnx_sha256,
        "base_value": explained["base_value"],
        "tolerance": SHAP_TOLERANCE,
        "output": "raw score: log-odds of churn; P(churn) = 1 / (1 + exp(-raw))",
        "method": SHAP_METHOD % shown(layout.onnx),
        "description": "The parity rows (%s), in the same order. shap[i] is "
                       "feature i's SHAP value in log-odds; raw = base_value + sum(shap), the "
                       "model's raw score for the row. kind as in parity.json." % shown(layout.parity),
    }
    rows = [
        json.dumps({
            "features": [json_number(v) for v in row],
            "shap": [float(v) for v in phi],
            "raw": float(raw),
            "kind": kind,
        })
        for row, phi, raw, kind in zip(features, explained["shap"], explained["raw"], kinds)
    ]
    head = json.dumps(header, indent=2)[:-2]
    return head + ',\n  "rows": [\n    ' + ",\n    ".join(rows) + "\n  ]\n}\n"


def card_document(card):
    """model_card.json text: indented, with one line per candidate (there are over a hundred)."""
    marker = "@@candidates@@"
    text = json.dumps({**card, "candidates": marker}, indent=2)
    rows = ",\n    ".join(json.dumps(candidate) for candidate in card["candidates"])
    return text.replace(json.dumps(marker), "[\n    " + rows + "\n  ]") + "\n"


def selection_text(named, candidate_count):
    """The card's selection field: the CV rule, or that this model was named and no choice was made."""
    if named is None:
        return ("highest mean %d-fold stratified CV ROC AUC on the training split among the "
                "%d candidates (logistic regression and every point of gradient_boosting_grid; "
                "train_cv_roc_auc_mean, the first listed wins a tie); the chosen model must "
                "reach >= %.2f. The hold-out split plays no part in the choice: it is scored "
                "once, for the chosen model only (holdout_metrics)."
                % (CV_FOLDS, candidate_count, MIN_CV_AUC))
    return ("none: this model was named (train.py --candidate), not chosen. The selection was "
            "skipped; only this candidate was scored, by the same %d-fold stratified CV ROC AUC on "
            "the training split that the selection uses (candidates holds its one entry). It is "
            "not necessarily the CV winner of a full selection run, which also scores the other "
            "candidates (logistic regression and every point of the gradient boosting grid). It "
            "still had to reach >= %.2f. The hold-out split plays no part in any of this: it is "
            "scored once, for this model only (holdout_metrics); comparing two models' hold-out "
            "metrics to pick one would make the hold-out split part of a choice."
            % (CV_FOLDS, MIN_CV_AUC))


def tree_explainability(explained, importance, train_rows, layout):
    """The card's explainability section for a tree ensemble: exact TreeSHAP, served."""
    return {
        "method": "exact path-dependent TreeSHAP (shap TreeExplainer 'tree_path_dependent', "
                  "Lundberg et al. 2018) on the trees in %s, computed "
                  "by brute force over all 2^5 feature coalitions (training/shap_reference.py)" % shown(layout.onnx),
        "output": "log-odds of churn",
        "covers": "ONNX TreeEnsembleClassifier attribute nodes_hitrates = sklearn "
                  "weighted_n_node_samples on the training split",
        "base_value": explained["base_value"],
        "base_value_meaning": "v(empty set) = mean raw score (log-odds) over the %d training "
                              "rows; a row's raw score = base_value + sum of its SHAP values"
                              % train_rows,
        "global_importance": importance,
        "global_importance_rows": "mean |SHAP| over the %d training rows" % train_rows,
        "reference_fixture": shown(layout.shap),
        "verification": explained["checks"],
        "caveats": [
            "SHAP values explain the model, not causation: they say how much each input "
            "moved this model's score, not what would change the customer's behaviour.",
            "has_support_calls is a proxy (the tech-support add-on flag, not observed "
            "support calls); its SHAP value is the effect of that flag in the model.",
            "Path-dependent SHAP assumes the tree-path conditional distribution of the "
            "training data: an absent feature is averaged over the training rows that "
            "reached each split (the covers), not over today's customers.",
        ],
    }


def linear_explainability(explained, importance, train_rows):
    """The card's explainability section for the logistic regression: closed-form SHAP, not served."""
    return {
        "method": linear_explanation.METHOD,
        "served": False,
        "output": "log-odds of churn",
        "base_value": explained["base_value"],
        "base_value_meaning": "mean raw score (log-odds) over the %d training rows, which for a linear "
                              "model is the raw score of the mean training row; a row's raw score = "
                              "base_value + sum of its SHAP values" % train_rows,
        "coefficients_per_unit": [{"feature": name, "log_odds_per_unit": round(w, 9)}
                                  for name, w in zip(FEATURE_NAMES, explained["coefficients_per_unit"])],
        "global_importance": importance,
        "global_importance_rows": "mean |SHAP| over the %d training rows" % train_rows,
        "verification": explained["checks"],
        "caveats": [
            "The service does not explain this model: its explainer is exact TreeSHAP, which needs "
            "a tree ensemble. Predictions are served without reasons.",
            "SHAP values explain the model, not causation: they say how much each input "
            "moved this model's score, not what would change the customer's behaviour.",
            "Interventional SHAP treats the features as independent, which tenure_months, "
            "monthly_charges and total_charges are not (total is roughly tenure times monthly): "
            "their values can be large and of opposite sign for the same customer.",
            "has_support_calls is a proxy (the tech-support add-on flag, not observed "
            "support calls); its SHAP value is the effect of that flag in the model.",
        ],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO_ROOT / DEFAULT_DATA,
                        help="Telco churn CSV (default: %s relative to the repo root)" % DEFAULT_DATA)
    parser.add_argument("--version", type=semantic_version, required=True,
                        help="semantic version X.Y.Z of the model this run builds; refused if it "
                             "equals the committed model card's model_version while the ONNX bytes differ; "
                             "a pre-release tag (X.Y.Z-rc.1) is allowed")
    parser.add_argument("--candidate", metavar="NAME",
                        help="skip the selection and train only this candidate: logistic_regression, or "
                             "gradient_boosting:n_estimators=N,max_depth=D,learning_rate=R,subsample=S,"
                             "min_samples_leaf=L (a grid point); requires --out")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write churn_model.onnx, model_card.json, parity.json (and shap.json for a "
                             "tree ensemble) to DIR instead of models/ and test/fixtures/")
    args = parser.parse_args()
    version = args.version
    named = None
    if args.candidate is not None:
        try:
            named = parse_candidate(args.candidate)
        except ValueError as problem:
            parser.error("--candidate: %s" % problem)
        if args.out is None:
            parser.error("--candidate needs --out: models/ holds the model the selection chose")
    layout = Layout.bundled() if args.out is None else Layout.in_directory(args.out)
    if args.out is not None and set(vars(layout).values()) & set(vars(Layout.bundled()).values()):
        parser.error("--out must not be models/ or test/fixtures/: the bundled model and its fixtures live there, "
                     "written without --out")

    data_bytes = args.data.read_bytes()
    features, labels, blank_total_charges = load_dataset(args.data)
    train_x, holdout_x, train_y, holdout_y = holdout_split(features, labels)
    print("data: %d rows (train %d, hold-out %d), churn rate %.4f"
          % (len(labels), len(train_y), len(holdout_y), labels.mean()))

    # Choose by mean 5-fold CV ROC AUC on the training part only, among
    # logistic regression and every point of the gradient boosting grid. The
    # hold-out part is scored once, for the chosen model, and only reported.
    # A named candidate skips the choice: it is cross-validated alone.
    try:
        candidates, chosen_index, chosen = (select(train_x, train_y, SEED) if named is None
                                            else named_candidate(*named, train_x, train_y, SEED))
    except AssertionError as failure:
        sys.exit("%s\nNo artifacts written." % failure)
    ranked = sorted(candidates, key=lambda c: -c["train_cv_roc_auc_mean"])
    for candidate in [c for c in candidates if c["name"] == "logistic_regression"] + ranked[:5 if named is None else 0]:
        print("candidate %-20s %-95s train %d-fold CV ROC AUC %.4f +/- %.4f"
              % (candidate["name"], json.dumps(candidate["hyperparameters"]), CV_FOLDS,
                 candidate["train_cv_roc_auc_mean"], candidate["train_cv_roc_auc_std"]))
    best = candidates[chosen_index]
    chosen_name = best["name"]
    print("%s: %s %s (train CV ROC AUC %.4f)"
          % ("chosen among %d candidates" % len(candidates) if named is None else "named, no selection",
             chosen_name, json.dumps(best["hyperparameters"]), best["train_cv_roc_auc_mean"]))
    if best["train_cv_roc_auc_mean"] < MIN_CV_AUC:
        sys.exit("FAILED: chosen model train CV ROC AUC %.4f is below the required %.2f; "
                 "no artifacts written." % (best["train_cv_roc_auc_mean"], MIN_CV_AUC))

    chosen = chosen.fit(train_x, train_y)
    holdout_probability = chosen.predict_proba(holdout_x)[:, 1]
    metrics = holdout_metrics(holdout_y, holdout_probability)
    print("hold-out (chosen model only, reported, not used for the choice): ROC AUC %.4f, "
          "log loss %.4f, Brier %.4f, accuracy at 0.5 %.4f"
          % (metrics["roc_auc"], metrics["log_loss"], metrics["brier_score"], metrics["accuracy_at_0_5"]))

    data_sha256 = hashlib.sha256(data_bytes).hexdigest()
    onnx_model = exporter_for(chosen_name)(
        chosen,
        doc_string="Customer churn probability from %d features (%s). probabilities[:, 1] is "
                   "P(churn); label is 1 when it is >= 0.5. Trained by training/train.py on the "
                   "IBM Telco Customer Churn sample; see %s."
                   % (len(FEATURE_NAMES), ", ".join(FEATURE_NAMES), shown(layout.card)),
        metadata={
            "model_version": version,
            "model_type": chosen_name,
            "positive_class": "churn (probabilities column 1, label 1)",
            "training_data_sha256": data_sha256,
            # Filled in once the card exists; the placeholder gives the file its final size.
            CARD_SHA256_KEY: PLACEHOLDER_SHA256,
        },
    )
    # Everything below runs on these bytes; the released file differs only in
    # the value of the model_card_sha256 metadata entry.
    onnx_bytes = onnx_model.SerializeToString()

    # Parity rows: all hold-out rows plus edge rows, scored by sklearn on the
    # same float32 values the ONNX model receives.
    edges = edge_rows(chosen, holdout_x)
    parity_features = np.vstack([holdout_x] + [row for row, _ in edges]).astype(np.float32)
    kinds = ["holdout"] * len(holdout_x) + ["edge"] * len(edges)
    notes = [""] * len(holdout_x) + [note for _, note in edges]
    sklearn_probability = chosen.predict_proba(parity_features)[:, 1]

    with tempfile.TemporaryDirectory(prefix="churn-model-") as workdir:
        candidate_path = Path(workdir) / layout.onnx.name
        candidate_path.write_bytes(onnx_bytes)
        onnx_output = run_onnx(candidate_path, parity_features)
        train_onnx_output = run_onnx(candidate_path, train_x)
    try:
        max_error = check_parity(onnx_output, sklearn_probability)
    except AssertionError as failure:
        sys.exit("%s\nNo artifacts written." % failure)
    print("parity: %d rows (%d hold-out, %d edge), max |p_onnx - p_sklearn| = %.3g (tolerance %g)"
          % (len(kinds), len(holdout_x), len(edges), max_error, TOLERANCE))
    onnx_probability = np.array(onnx_output["probabilities"], dtype=np.float64)[:, 1]
    train_onnx_probability = np.array(train_onnx_output["probabilities"], dtype=np.float64)[:, 1]

    # Exact SHAP values from the ONNX file's own trees and covers, checked
    # against onnxruntime, sklearn and the polynomial algorithm. A linear
    # model gets its closed-form SHAP values for the card (not served).
    trees = chosen_name == "gradient_boosting"
    try:
        explained = (explain_and_verify(onnx_bytes, chosen, parity_features, train_x, onnx_probability) if trees
                     else linear_explanation.explain_and_verify(chosen, parity_features, train_x, onnx_probability))
    except AssertionError as failure:
        sys.exit("%s\nNo artifacts written." % failure)
    checks = explained["checks"]
    if not trees:
        print("linear shap (card only, not served): base_value %.12f; %s"
              % (explained["base_value"], ", ".join("%s %.2g" % item for item in checks.items())))
    else:
        print("shap: base_value %.12f (mean train raw score, off by %.2g); local accuracy: %.2g vs the "
              "ONNX trees, %.2g vs logit(onnxruntime p), %.2g vs sklearn decision_function on its "
              "float64 trees; float32 ONNX weights move SHAP by %.2g; polynomial TreeSHAP agrees "
              "within %.2g on %d rows"
              % (explained["base_value"], checks["base_value_vs_mean_train_raw"],
                 checks["local_accuracy_vs_onnx_trees"], checks["local_accuracy_vs_onnxruntime_logit"],
                 checks["sklearn_trees_local_accuracy_vs_decision_function"],
                 checks["onnx_vs_sklearn_trees_shap"], checks["polynomial_treeshap_vs_brute_force"],
                 checks["polynomial_treeshap_rows_checked"]))
    # Hold-out calibration and operating points, on the probabilities the
    # service will return (onnxruntime's); the hold-out rows come first in the
    # parity rows. Then the training profile for drift monitoring.
    holdout_onnx_probability = onnx_probability[:len(holdout_x)]
    calibration = calibration_table(holdout_y, holdout_onnx_probability)
    points = operating_points(holdout_y, holdout_onnx_probability)
    if [p["flagged"] for p in points] != [p["flagged"] for p in operating_points(holdout_y, holdout_probability)]:
        print("note: sklearn's float64 probabilities flag different counts at some threshold")
    for point in points:
        print("operating point >= %.1f: flagged %4d (%.1f %%), precision %s, recall %.3f"
              % (point["threshold"], point["flagged"], 100 * point["flagged_share"],
                 "n/a" if point["precision"] is None else "%.3f" % point["precision"], point["recall"]))
    drift = drift_reference(train_x, FEATURES, train_onnx_probability, shown(layout.onnx))

    importance = [{"feature": name, "mean_abs_shap": round(float(v), 6)}
                  for name, v in zip(FEATURE_NAMES, explained["mean_abs_shap_train"])]
    print("global importance (mean |SHAP| over %d training rows): %s"
          % (len(train_x), ", ".join("%s %.4f" % (e["feature"], e["mean_abs_shap"]) for e in importance)))

    card = {
        "model_name": "churn_model",
        "model_version": version,
        "created": creation_date(),
        "description": "Predicts the probability that a telecom customer churns, from five "
                       "account features.",
        "intended_use": [
            "Ranking and flagging customers by churn risk for retention outreach, served by the "
            "churn-service HTTP API.",
            "Inputs must lie inside the valid ranges below; the service rejects anything else.",
        ],
        "limitations": [
            "Trained on a single public sample of %d customers of a fictional telco (IBM "
            "Telco Customer Churn); probabilities are not calibrated for any other customer "
            "base." % len(labels),
            "Only five features; contract type, payment method and demographics, which are "
            "strong churn signals in the source data, are deliberately not used.",
            "The valid ranges are wider than the training data (observed: %s). %s"
            % (observed_ranges_text(features), EXTRAPOLATION[chosen_name]),
            "has_support_calls is a proxy. " + HAS_SUPPORT_CALLS_CAVEAT,
            "Not for decisions with legal or similarly significant effects on individuals.",
        ],
        "caveats": {"has_support_calls": HAS_SUPPORT_CALLS_CAVEAT},
        "feature_names": FEATURE_NAMES,
        "features": [dict(feature.as_card_entry(i), observed_range_in_training_data=observed_range(features, i))
                     for i, feature in enumerate(FEATURES)],
        "onnx": {
            "file": shown(layout.onnx),
            "sha256": PLACEHOLDER_SHA256,  # set below, once the file holds the card's hash
            "size_bytes": len(onnx_bytes),
            "ir_version": IR_VERSION,
            "opsets": {op.domain or "ai.onnx": op.version for op in OPSET_IMPORTS},
            "input": {"name": INPUT_NAME, "type": "float32", "shape": ["N", len(FEATURE_NAMES)],
                      "column_order": FEATURE_NAMES},
            "outputs": [
                {"name": LABEL_OUTPUT, "type": "int64", "shape": ["N"],
                 "meaning": "1 = churn (probability >= 0.5), 0 = stays"},
                {"name": PROBABILITY_OUTPUT, "type": "float32", "shape": ["N", 2],
                 "meaning": "column 0 = P(stays), column 1 = P(churn)"},
            ],
            "parity": {"fixture": shown(layout.parity), "rows": len(kinds),
                       "holdout_rows": len(holdout_x), "edge_rows": len(edges),
                       "max_abs_probability_error": max_error, "tolerance": TOLERANCE,
                       "runtime": "onnxruntime-node " + onnxruntime_node_version()},
        },
        "training_data": {
            "name": "IBM Telco Customer Churn (telco-customer-churn-on-icp4d sample)",
            "license": "Apache-2.0",
            "file": args.data.name,
            "sha256": data_sha256,
            "rows_total": int(len(labels)),
            "rows_train": int(len(train_y)),
            "rows_holdout": int(len(holdout_y)),
            "churn_rate_total": round(float(labels.mean()), 6),
            "churn_rate_train": round(float(train_y.mean()), 6),
            "churn_rate_holdout": round(float(holdout_y.mean()), 6),
            "blank_total_charges_read_as_0": blank_total_charges,
            "label": 'Churn == "Yes"',
        },
        "split": {"method": "stratified hold-out (sklearn train_test_split)",
                  "holdout_fraction": HOLDOUT_FRACTION, "seed": SEED,
                  "train_cv": "%d-fold stratified, shuffled, seed %d" % (CV_FOLDS, SEED)},
        "selection": selection_text(named, len(candidates)),
        **({"gradient_boosting_grid": GRADIENT_BOOSTING_GRID} if named is None else {}),
        "candidates": candidates,
        "chosen_model": {
            "name": chosen_name,
            "class": type(chosen).__name__,
            "train_cv_roc_auc_mean": best["train_cv_roc_auc_mean"],
            "hyperparameters": hyperparameters(chosen),
        },
        "holdout_metrics": metrics,
        "holdout_probability_source": "calibration and operating_points use the onnxruntime-node "
                                      "float32 P(churn) of %s on the %d "
                                      "hold-out rows (what the service returns)" % (shown(layout.onnx), len(holdout_x)),
        "calibration": calibration,
        "operating_points": points,
        "explainability": (tree_explainability(explained, importance, len(train_x), layout) if trees
                           else linear_explainability(explained, importance, len(train_x))),
        "drift_reference": drift,
        "software": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "onnx": onnx.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "onnxruntime-node": onnxruntime_node_version(),
        },
    }

    # Bind the card and the file both ways (card_binding.py): the file records
    # the hash of the card's content, the card the hash of the final file.
    card_sha256 = card_content_sha256(card)
    set_metadata(onnx_model, CARD_SHA256_KEY, card_sha256)
    final_bytes = onnx_model.SerializeToString()
    if len(final_bytes) != len(onnx_bytes):
        sys.exit("FAILED: recording the card's hash changed the ONNX file's size; no artifacts written.")
    onnx_sha256 = hashlib.sha256(final_bytes).hexdigest()
    card["onnx"]["sha256"] = onnx_sha256
    card_text = card_document(card)
    if card_content_sha256(json.loads(card_text)) != card_sha256:
        sys.exit("FAILED: the written card would not hash to the model_card_sha256 in the ONNX file; "
                 "no artifacts written.")
    print("binding: ONNX sha256 %s (in the card), card content sha256 %s (in the ONNX metadata)"
          % (onnx_sha256, card_sha256))
    check_version_binding(version, onnx_sha256, card["created"], layout.card)

    # Checks passed: now write every artifact. Only a tree ensemble has a SHAP
    # reference for the service's explainer.
    write_atomically(layout.onnx, final_bytes)
    write_atomically(layout.card, card_text.encode())
    write_atomically(layout.parity, parity_document(parity_features, sklearn_probability, kinds, notes, version).encode())
    written = [layout.onnx, layout.card, layout.parity]
    if trees:
        write_atomically(layout.shap, shap_document(parity_features, explained, kinds, version, onnx_sha256, layout).encode())
        written.append(layout.shap)
    for path in written:
        print("wrote %s (%d bytes)" % (shown(path), path.stat().st_size))
    # The reference calibrator for the service's performance estimate (CBPE), on the same
    # hold-out rows and served probabilities, bound to the file just written by its sha256.
    write_reference_calibration(
        layout.onnx, REPO_ROOT, holdout_onnx_probability, holdout_y, version, onnx_sha256,
        holdout_calibration_source(len(holdout_y)), write_atomically,
        # The sklearn fixture the service's tests compare against is the bundled model's only.
        with_fixture=args.out is None)


if __name__ == "__main__":
    main()
