#!/usr/bin/env python3
"""The churn model over the Open Inference Protocol (KServe V2) with `requests`, as KServe,
Triton and MLServer clients call it.

    python3 examples/open_inference_client.py http://localhost:8000 [api-key]

Reads the model's metadata, builds the FP32 [N, 5] input in the column order the metadata
names, and reads P(churn) from the probabilities output. Errors are {"error": "..."}.
"""

import sys
from typing import Any, Dict, List, Optional

import requests


class InferenceError(Exception):
    pass


class OpenInferenceClient:
    def __init__(self, base_url: str, model: str = "churn", api_key: Optional[str] = None, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.session = requests.Session()
        if api_key:
            self.session.headers["authorization"] = "Bearer " + api_key

    def _call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        response = self.session.request(method, self.base_url + path, json=body, timeout=self.timeout)
        if not response.ok:
            raise InferenceError("%d: %s" % (response.status_code, response.json().get("error")))
        return response.json()

    def ready(self) -> bool:
        return self.session.get(self.base_url + "/v2/models/%s/ready" % self.model, timeout=self.timeout).ok

    def metadata(self) -> Dict[str, Any]:
        return self._call("GET", "/v2/models/" + self.model)

    def churn_probabilities(self, customers: List[Dict[str, float]]) -> List[float]:
        """P(churn) for each customer, from one FP32 [N, 5] tensor in the model's column order."""
        model_input = self.metadata()["inputs"][0]
        columns = model_input["parameters"]["columns"].split(",")
        request = {
            "id": "example-1",
            "inputs": [{
                "name": model_input["name"],
                "datatype": "FP32",
                "shape": [len(customers), len(columns)],
                "data": [[customer[column] for column in columns] for customer in customers],
            }],
            "outputs": [{"name": "probabilities"}],
        }
        answer = self._call("POST", "/v2/models/%s/infer" % self.model, request)
        probabilities = answer["outputs"][0]["data"]  # flat [N, 2]: P(stay), P(churn) per row
        return [probabilities[row * 2 + 1] for row in range(len(customers))]


def main() -> None:
    base_url = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8000"
    client = OpenInferenceClient(base_url, api_key=sys.argv[2] if len(sys.argv) > 2 else None)
    assert client.ready(), "the model is not ready"
    metadata = client.metadata()
    print("%s %s on %s" % (metadata["name"], metadata["versions"][0], metadata["platform"]))
    customers = [
        {"tenure_months": 2, "monthly_charges": 70.7, "total_charges": 151.65, "num_products": 2, "has_support_calls": 0},
        {"tenure_months": 45, "monthly_charges": 42.3, "total_charges": 1840.75, "num_products": 4, "has_support_calls": 1},
    ]
    for probability in client.churn_probabilities(customers):
        print("P(churn) = %.4f" % probability)
    try:
        client.churn_probabilities([{**customers[0], "tenure_months": 999}])
    except InferenceError as error:
        print("rejected as expected: %s" % error)


if __name__ == "__main__":
    main()
