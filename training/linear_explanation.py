"""Exact SHAP values of the logistic regression candidate, for its model card only.

The service explains tree ensembles only (exact TreeSHAP read from the ONNX trees), so a linear
model is served without explanations. Its card still needs an explainability section; for a
linear model the SHAP values have a closed form, so they are computed and checked here.

The model's raw score (log-odds of churn) is f(x) = b + sum_j w_j (x_j - m_j) / s_j, with the
StandardScaler's mean m and scale s and the LogisticRegression's coefficients w and intercept b.
With the training rows as the background distribution and features treated as independent
(interventional SHAP, what the shap library's LinearExplainer computes):

  phi_j      = w_j / s_j * (x_j - mean over the training rows of x_j)
  base_value = mean raw score over the training rows = f(mean training row)

so base_value + sum(phi) = f(x) for every row (local accuracy), exactly up to float rounding.
f is evaluated in float64 on the float32 inputs widened (sklearn would scale float32 inputs in
float32, which moves the raw score by ~1e-7 and says nothing about the SHAP values).
"""

import numpy as np

LOCAL_ACCURACY_TOLERANCE = 1e-9
# onnxruntime computes the probability in float32 (scaling, dot product, logistic): a few 1e-7.
ONNXRUNTIME_PROBABILITY_TOLERANCE = 1e-6

METHOD = (
    "exact interventional SHAP of the linear log-odds (shap LinearExplainer with independent "
    "features): phi_j = coefficient_j / scale_j * (x_j - mean of x_j over the training rows), "
    "computed in closed form by training/linear_explanation.py. Not served: the service's "
    "explainer is exact TreeSHAP for tree ensembles, so GET /model reports explanations as "
    "unavailable for this model and a request with explain=true is refused (400)."
)


def _parts(pipeline):
    scaler = pipeline.named_steps["standardscaler"]
    classifier = pipeline.named_steps["logisticregression"]
    weights = classifier.coef_.ravel().astype(np.float64) / scaler.scale_.astype(np.float64)
    return scaler, classifier, weights


def explain_and_verify(pipeline, rows, train_x, onnx_probability):
    """SHAP values of `rows`, the base value, training importance and the checks' measured values.

    Raises AssertionError ("LINEAR SHAP CHECK FAILED") when a check fails. The check against
    onnxruntime compares probabilities, not logits: float32 rounding of a probability near 0 or
    1 (the range corners reach both) is a large error in log-odds and says nothing there.
    """
    _, _, weights = _parts(pipeline)
    background = train_x.astype(np.float64).mean(axis=0)

    def shap(x):
        return (x.astype(np.float64) - background) * weights

    def decision(x):
        return pipeline.decision_function(x.astype(np.float64))

    train_raw = decision(train_x)
    base_value = float(train_raw.mean())
    phi = shap(rows)
    raw = base_value + phi.sum(axis=1)
    train_phi = shap(train_x)

    served = np.asarray(onnx_probability, dtype=np.float64)
    checks = {
        "local_accuracy_vs_decision_function": float(np.abs(raw - decision(rows)).max()),
        "train_local_accuracy_vs_decision_function": float(np.abs(base_value + train_phi.sum(axis=1) - train_raw).max()),
        "base_value_vs_raw_score_of_mean_training_row": float(abs(base_value - decision(background[None, :])[0])),
        "sigmoid_of_local_accuracy_vs_onnxruntime_probability": float(np.abs(1 / (1 + np.exp(-raw)) - served).max()),
    }
    problems = [name for name, value in checks.items()
                if value > (ONNXRUNTIME_PROBABILITY_TOLERANCE if "onnxruntime" in name else LOCAL_ACCURACY_TOLERANCE)]
    if problems:
        raise AssertionError("LINEAR SHAP CHECK FAILED: %s" % ", ".join("%s = %.3g" % (n, checks[n]) for n in problems))
    return {
        "base_value": base_value,
        "shap": phi,
        "raw": raw,
        "mean_abs_shap_train": np.abs(train_phi).mean(axis=0),
        "coefficients_per_unit": [float(w) for w in weights],
        "checks": checks,
    }
