#!/usr/bin/env python3
"""A small client for the churn API with `requests`, for data and CRM teams.

    python3 examples/python_client.py http://localhost:8000 [api-key]

Retries 429 and 503 answers after their retry-after; raises ChurnApiError with the
service's error body (FastAPI-style `detail` for a 422) for anything else.
"""

import sys
import time
from typing import Any, Dict, List, Optional

import requests

Customer = Dict[str, Any]


class ChurnApiError(Exception):
    def __init__(self, status: int, body: Dict[str, Any]):
        super().__init__("churn API answered %d: %s" % (status, body.get("message")))
        self.status = status
        self.body = body


class ChurnClient:
    def __init__(self, base_url: str, api_key: Optional[str] = None, retries: int = 2, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["content-type"] = "application/json"
        if api_key:
            self.session.headers["authorization"] = "Bearer " + api_key

    def predict(self, customer: Customer) -> Dict[str, Any]:
        return self._post("/predict", customer)

    def predict_batch(self, customers: List[Customer]) -> Dict[str, Any]:
        """Up to 100 customers per call; answers come back in the order sent."""
        return self._post("/predict/batch", {"customers": customers})

    def _post(self, path: str, body: Any) -> Dict[str, Any]:
        for attempt in range(self.retries + 1):
            response = self.session.post(self.base_url + path, json=body, timeout=self.timeout)
            if response.ok:
                return response.json()
            if response.status_code in (429, 503) and attempt < self.retries:
                time.sleep(min(float(response.headers.get("retry-after", "1")), 30))
                continue
            raise ChurnApiError(response.status_code, response.json())
        raise AssertionError("unreachable")


def main() -> None:
    base_url = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8000"
    client = ChurnClient(base_url, sys.argv[2] if len(sys.argv) > 2 else None)
    customer = {"customer_id": "9237-HQITU", "tenure_months": 2, "monthly_charges": 70.7,
                "total_charges": 151.65, "num_products": 2, "has_support_calls": 0}
    single = client.predict(customer)
    print("%s: %.1f %% churn risk, %s (model %s)" % (
        single["customer_id"], single["churn_probability"] * 100, single["risk_tier"], single["model_version"]))
    batch = client.predict_batch([customer, dict(customer, customer_id="7795-CFOCW", tenure_months=45,
                                                 monthly_charges=42.3, total_charges=1840.75,
                                                 num_products=4, has_support_calls=1)])
    for prediction in batch["predictions"]:
        print("%s: %s" % (prediction["customer_id"], prediction["risk_tier"]))
    try:
        client.predict(dict(customer, tenure_months=999))
    except ChurnApiError as error:
        assert error.status == 422, error
        print("rejected as expected: " + error.body["message"])


if __name__ == "__main__":
    main()
