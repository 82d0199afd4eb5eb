"""Feature contract of the churn model: names, order, units, valid ranges and
how each feature is derived from the IBM Telco Customer Churn CSV.

The order of FEATURES is the column order of the ONNX input tensor, so the
service, the parity fixture and the model card all derive from this list.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # "integer" or "number", as the HTTP API validates it
    unit: str
    minimum: float
    maximum: float
    derivation: str
    description: str

    def as_card_entry(self, index):
        return {
            "index": index,
            "name": self.name,
            "type": self.kind,
            "unit": self.unit,
            "valid_range": {"min": self.minimum, "max": self.maximum, "inclusive": True},
            "derivation": self.derivation,
            "description": self.description,
        }


# Services that count towards num_products when the customer has them ("Yes").
SERVICE_COLUMNS = [
    "PhoneService",
    "MultipleLines",
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
]

FEATURES = [
    Feature(
        "tenure_months", "integer", "months", 0, 120,
        "tenure",
        "Months the customer has been with us (0 = signed up this month).",
    ),
    Feature(
        "monthly_charges", "number", "USD per month", 0, 500,
        "MonthlyCharges",
        "Amount currently charged to the customer per month.",
    ),
    Feature(
        "total_charges", "number", "USD to date", 0, 1_000_000,
        "TotalCharges; blank for brand-new customers (tenure 0), which is read as 0",
        "Total amount charged to the customer so far.",
    ),
    Feature(
        "num_products", "integer", "count", 1, 10,
        'number of "Yes" among ' + ", ".join(SERVICE_COLUMNS)
        + ', plus 1 when InternetService is not "No"',
        "Number of products and add-on services the customer subscribes to.",
    ),
    Feature(
        "has_support_calls", "integer", "flag (0 or 1)", 0, 1,
        'TechSupport == "Yes" -> 1, else 0',
        "1 when the customer has the tech-support add-on. The training data has no "
        "support-call log, so this is a proxy, not an observed count of support calls.",
    ),
]

FEATURE_NAMES = [feature.name for feature in FEATURES]
INTEGER_FEATURES = [i for i, feature in enumerate(FEATURES) if feature.kind == "integer"]
FEATURE_MINIMA = np.array([feature.minimum for feature in FEATURES], dtype=np.float32)
FEATURE_MAXIMA = np.array([feature.maximum for feature in FEATURES], dtype=np.float32)


def load_dataset(csv_path):
    """Read the CSV and derive the feature matrix and label.

    Returns (features float32 [n, 5], labels int64 [n], number of blank
    TotalCharges). Features are float32 from the start because that is what
    the ONNX graph receives; training and reference predictions then see
    exactly the same values.
    """
    # Read everything as text: TotalCharges holds " " for new customers and we
    # want to decide explicitly how each column is parsed.
    raw = pd.read_csv(csv_path, dtype=str, keep_default_na=False)

    total_text = raw["TotalCharges"].str.strip()
    blank_totals = total_text == ""
    total_charges = pd.to_numeric(total_text.mask(blank_totals, "0"), errors="raise")

    has_service = (raw[SERVICE_COLUMNS] == "Yes").sum(axis=1)
    has_internet = (raw["InternetService"] != "No").astype(int)

    columns = {
        "tenure_months": pd.to_numeric(raw["tenure"], errors="raise"),
        "monthly_charges": pd.to_numeric(raw["MonthlyCharges"], errors="raise"),
        "total_charges": total_charges,
        "num_products": has_service + has_internet,
        "has_support_calls": (raw["TechSupport"] == "Yes").astype(int),
    }
    features = np.column_stack([columns[name] for name in FEATURE_NAMES]).astype(np.float32)
    labels = (raw["Churn"] == "Yes").to_numpy(dtype=np.int64)

    # The model is only ever asked about inputs inside the API ranges; make
    # sure the training data itself respects them.
    if (features < FEATURE_MINIMA).any() or (features > FEATURE_MAXIMA).any():
        raise ValueError("derived training features fall outside the API valid ranges")
    if not set(raw["Churn"]) <= {"Yes", "No"}:
        raise ValueError("unexpected Churn values: %s" % sorted(set(raw["Churn"])))

    return features, labels, int(blank_totals.sum())
