"""What train.py and reference_calibration.py share: where the released files live, the
hold-out split, and how a file is written.

Kept free of onnx and of the training code, so reference_calibration.py can re-derive the
hold-out customers of the released model with numpy, pandas and sklearn alone.
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

from sklearn.model_selection import train_test_split

SEED = 42
HOLDOUT_FRACTION = 0.2

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = "../shared/data/telco-customer-churn.csv"  # relative to REPO_ROOT
MODELS_DIR = REPO_ROOT / "models"
ONNX_PATH = MODELS_DIR / "churn_model.onnx"
CARD_PATH = MODELS_DIR / "model_card.json"
NODE_HELPER = Path(__file__).resolve().parent / "onnx_predict.mjs"


def holdout_split(features, labels):
    """(train_x, holdout_x, train_y, holdout_y): stratified, HOLDOUT_FRACTION held out, seed SEED."""
    return train_test_split(features, labels, test_size=HOLDOUT_FRACTION, stratify=labels, random_state=SEED)


def write_atomically(path, data):
    """Write via a temporary file in the same directory and rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name + ".", delete=False) as handle:
        handle.write(data)
    # NamedTemporaryFile creates the file 0600; artifacts are ordinary repo files.
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, path)


def run_onnx(model_path, features):
    """Predict with onnxruntime-node; returns the helper's decoded JSON output."""
    with tempfile.TemporaryDirectory(prefix="churn-parity-") as workdir:
        input_path = Path(workdir) / "rows.json"
        output_path = Path(workdir) / "predictions.json"
        input_path.write_text(json.dumps(features.astype(float).tolist()))
        subprocess.run(
            ["node", str(NODE_HELPER), str(model_path), str(input_path), str(output_path)],
            check=True,
            cwd=NODE_HELPER.parent.parent,  # repo root, where node_modules lives
        )
        return json.loads(output_path.read_text())
