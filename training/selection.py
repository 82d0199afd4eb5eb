"""Model selection by cross-validation on the training split alone.

Every candidate, logistic regression and each point of the gradient boosting
grid, is scored by the mean ROC AUC over the same stratified folds of the
training split; the highest mean wins (the first listed wins a tie). The
hold-out split never reaches this module. See training/README.md, "Model
choice".
"""

from itertools import product

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

CV_FOLDS = 5

# The gradient boosting grid (162 points). It was first searched during the
# development of model 1.1.0, outside the pipeline; it now runs here so that
# the choice among its points is made by CV alone, like every other choice.
GRADIENT_BOOSTING_GRID = {
    "n_estimators": [100, 200, 300],
    "max_depth": [2, 3, 4],
    "learning_rate": [0.03, 0.05, 0.1],
    "subsample": [0.8, 1.0],
    "min_samples_leaf": [1, 20, 50],
}


def cross_validation(seed):
    return StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)


def logistic_regression():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def gradient_boosting(seed, **hyperparameters):
    return GradientBoostingClassifier(random_state=seed, **hyperparameters)


def _candidate(name, hyperparameters, fold_aucs):
    aucs = np.asarray(fold_aucs, dtype=np.float64)
    return {
        "name": name,
        "hyperparameters": hyperparameters,
        "train_cv_roc_auc_mean": round(float(aucs.mean()), 6),
        "train_cv_roc_auc_std": round(float(aucs.std()), 6),
        "train_cv_roc_auc_folds": [round(float(v), 6) for v in aucs],
    }


def _gradient_boosting_fold_aucs(train_x, train_y, folds, seed):
    """Fold AUCs of every grid point, by (n_estimators, max_depth, ...) in grid order.

    For each setting of the other hyperparameters, one fit per fold with the
    most trees serves every n_estimators: boosting adds its trees one after
    the other and draws its random numbers (subsample, tree seeds) in that
    order, so its first n trees are exactly the model fitted with
    n_estimators=n. The AUC is taken on the raw score (decision_function),
    which is what sklearn's roc_auc scorer uses. select() checks the chosen
    point against a plain cross_val_score fit.
    """
    grid = GRADIENT_BOOSTING_GRID
    sizes = set(grid["n_estimators"])
    most = max(sizes)
    aucs = {}
    for depth, rate, subsample, leaf in product(grid["max_depth"], grid["learning_rate"], grid["subsample"], grid["min_samples_leaf"]):
        for fit_index, score_index in folds:
            model = gradient_boosting(seed, n_estimators=most, max_depth=depth, learning_rate=rate,
                                      subsample=subsample, min_samples_leaf=leaf)
            model.fit(train_x[fit_index], train_y[fit_index])
            for trees, raw in enumerate(model.staged_decision_function(train_x[score_index]), start=1):
                if trees in sizes:
                    key = (trees, depth, rate, subsample, leaf)
                    aucs.setdefault(key, []).append(roc_auc_score(train_y[score_index], raw.ravel()))
    return aucs


def select(train_x, train_y, seed):
    """(candidates in listing order, index of the chosen one, its unfitted estimator)."""
    cv = cross_validation(seed)
    folds = list(cv.split(train_x, train_y))
    candidates = [_candidate("logistic_regression", {"max_iter": 1000},
                             cross_val_score(logistic_regression(), train_x, train_y, cv=folds, scoring="roc_auc"))]
    estimators = [logistic_regression()]

    grid = GRADIENT_BOOSTING_GRID
    aucs = _gradient_boosting_fold_aucs(train_x, train_y, folds, seed)
    for point in product(*grid.values()):
        hyperparameters = dict(zip(grid.keys(), point))
        candidates.append(_candidate("gradient_boosting", hyperparameters, aucs[point]))
        estimators.append(gradient_boosting(seed, **hyperparameters))

    means = [candidate["train_cv_roc_auc_mean"] for candidate in candidates]
    chosen = means.index(max(means))  # the first listed wins a tie

    # The shortcut above must give what a plain fit per fold gives.
    plain = cross_val_score(clone(estimators[chosen]), train_x, train_y, cv=folds, scoring="roc_auc")
    recorded = candidates[chosen]["train_cv_roc_auc_folds"]
    if np.max(np.abs(np.round(plain, 6) - recorded)) > 0:
        raise AssertionError("CV SHORTCUT CHECK FAILED: staged fold AUCs %s, plain fits %s" % (recorded, list(plain)))
    return candidates, chosen, estimators[chosen]


def parse_candidate(text):
    """A candidate named on the command line: (name, hyperparameters) of one point of select()'s list.

    "logistic_regression", or "gradient_boosting:" followed by every grid hyperparameter as
    key=value, comma-separated (e.g. gradient_boosting:n_estimators=100,max_depth=3,
    learning_rate=0.1,subsample=1.0,min_samples_leaf=1). Only points of the grid are accepted, so
    a named candidate is always one that select() would have scored.
    """
    name, _, settings = text.partition(":")
    if name == "logistic_regression" and not settings:
        return name, {"max_iter": 1000}
    if name != "gradient_boosting" or not settings:
        raise ValueError("%r is not logistic_regression or gradient_boosting:key=value,..." % text)
    grid = GRADIENT_BOOSTING_GRID
    hyperparameters = {}
    for setting in settings.split(","):
        key, _, value = setting.partition("=")
        if key not in grid or key in hyperparameters:
            raise ValueError("%r: %r is not a grid hyperparameter given once (%s)" % (text, key, ", ".join(grid)))
        matches = [v for v in grid[key] if str(v) == value or (value and float(value) == float(v))]
        if not matches:
            raise ValueError("%r: %s=%s is not in the grid (%s)" % (text, key, value, grid[key]))
        hyperparameters[key] = matches[0]
    missing = [key for key in grid if key not in hyperparameters]
    if missing:
        raise ValueError("%r: give every grid hyperparameter; missing %s" % (text, ", ".join(missing)))
    return name, {key: hyperparameters[key] for key in grid}  # in grid order, as select() lists them


def named_candidate(name, hyperparameters, train_x, train_y, seed):
    """The one named candidate, scored like select() scores it, with no choice made.

    Same return shape as select(): ([its candidate entry], 0, its unfitted estimator). Its CV
    AUCs come from a plain cross_val_score on select()'s folds, so they equal what a full
    selection run records for the same point.
    """
    estimator = logistic_regression() if name == "logistic_regression" else gradient_boosting(seed, **hyperparameters)
    folds = list(cross_validation(seed).split(train_x, train_y))
    aucs = cross_val_score(clone(estimator), train_x, train_y, cv=folds, scoring="roc_auc")
    return [_candidate(name, hyperparameters, aucs)], 0, estimator
