"""The API's contract (app/openapi.json): a valid OpenAPI 3.1 document, served as is, naming every route, agreeing
with every JSON example of the docs, and held by the real server under schemathesis' generated requests.

    pytest -q tests/test_openapi.py          # about half a minute on 2 cores, most of it schemathesis
"""

import json
import os
import re
from pathlib import Path

import pytest
import schemathesis
from conftest import serve_in_thread
from hypothesis import HealthCheck, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from app import OPENAPI_FILE, create_app

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_WITH_EXAMPLES = [REPO_ROOT / "docs" / "serving.md", REPO_ROOT / "README.md"]
DOCUMENT = json.loads(OPENAPI_FILE.read_text())


def validator(schema_name: str) -> Draft202012Validator:
    """A JSON Schema validator for one of the document's component schemas (OpenAPI 3.1 schemas are 2020-12)."""
    return Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": DOCUMENT["components"]})


def test_the_document_is_valid_openapi_3_1():
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.1")


def test_the_server_serves_the_document_as_written(client):
    answer = client.get("/openapi.json")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.get_data() == OPENAPI_FILE.read_bytes()


def test_every_route_is_documented_and_every_documented_route_exists(app):
    routes = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)  # /static/<path:filename> -> {filename}
        routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: set(operations) - {"parameters"} for path, operations in DOCUMENT["paths"].items()}
    assert routes == documented


def test_the_document_s_own_examples_match_their_schemas():
    request = DOCUMENT["paths"]["/api/v1/classify"]["post"]["requestBody"]["content"]["application/json"]
    for example in request["examples"].values():
        validator("ClassifyRequest").validate(example["value"])
    for status, response in DOCUMENT["paths"]["/api/v1/classify"]["post"]["responses"].items():
        for example in response["content"]["application/json"].get("examples", {}).values():
            validator("Error").validate(example["value"])
            assert example["value"]["error"]["code"] == int(status)


def json_examples(markdown: str) -> list:
    """The JSON of a document's ```json blocks, its `curl ... -d '...'` bodies and its inline `{"...": ...}`
    spans that parse (a span such as `{"start", "end"}` is prose about fields, not an example)."""
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", markdown, flags=re.S)]
    examples += [json.loads(body) for body in re.findall(r"curl [^\n]*/api/v1/classify[^\n]* -d '([^']*)'", markdown)]
    for span in re.findall(r"`(\{\".*?\})`", markdown):
        try:
            examples.append(json.loads(span))
        except ValueError:
            continue
    return examples


def schema_for(example) -> str:
    """Which of the document's schemas a documentation example claims to be, from its members."""
    if isinstance(example, dict):
        if "results" in example:
            return "ClassifyResponse"
        if "error" in example:
            return "Error"
        if "text" in example or "texts" in example:
            return "ClassifyRequest"
        if example.get("status") == "ok":
            return "Health"
        if example.get("status") == "no model":
            return "NoModel"
        if example.get("status") == "model changed":
            return "ModelChanged"
    raise AssertionError(f"a JSON example that is none of the API's bodies: {example!r}")


@pytest.mark.parametrize("doc", DOCS_WITH_EXAMPLES, ids=lambda path: path.name)
def test_every_json_example_in_the_docs_matches_the_document(doc):
    examples = json_examples(doc.read_text())
    assert examples, f"no JSON examples found in {doc.name}"
    for example in examples:
        errors = sorted(validator(schema_for(example)).iter_errors(example), key=str)
        assert not errors, f"{doc.name}: {example!r}: {errors[0].message}"
    if doc.name == "serving.md":  # the operator's guide shows each kind of body
        assert {"ClassifyRequest", "ClassifyResponse", "Error", "Health"} <= {schema_for(e) for e in examples}


def test_a_wrong_example_would_be_caught():
    bad = {"model": "m", "backend": "onnx-int8", "threshold": 0.4, "calibrated": True,
           "results": [{"score": 1.2, "label": "toxic", "flagged": True}]}  # fmt: skip
    assert not validator("ClassifyResponse").is_valid(bad)
    assert not validator("ClassifyRequest").is_valid({"text": "a", "texts": ["b"]})  # exactly one of them
    assert not validator("ClassifyRequest").is_valid({"text": " \t"})  # nothing but white space


# ---- schemathesis: requests generated from the document, sent to waitress on loopback ----

CONTRACT_EXAMPLES = 20  # per operation; 8 operations: about 30 s on 2 cores with the tiny model


@pytest.fixture(scope="module")
def contract_server(tiny_classifier_dir):
    """The production server (waitress, as app.serve runs it) with the tiny model, for the whole module; or the
    server at $TOXICLF_CONTRACT_URL (e.g. `make serve`'s, with the shipped model) when that is set."""
    if os.environ.get("TOXICLF_CONTRACT_URL"):
        yield os.environ["TOXICLF_CONTRACT_URL"].rstrip("/")
        return
    app = create_app({"MODEL_DIR": str(tiny_classifier_dir), "BACKEND": "torch"})
    url, stop = serve_in_thread(app)
    yield url
    stop()


# 503 is the one 5xx the document allows: the queue is full or no model is loaded (with one thread sending, the
# first does not happen; the second would fail every request). Schema-valid data may get a 404 (a static file or a
# model card that is not there: documented per operation) or a 413: the character budget (200,000 per request) and
# the explanation budget (400 model passes) are sums the schema cannot express. Schema-invalid data must get a 400,
# or a 413 when it is too much (over 256 texts), a 404 / 405 for a path or method that is not there, a 415 / 422.
CHECKS = {
    "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]},
    # 400 too: a text of only invisible or control characters is schema-valid but refused as empty (no pattern says so)
    "positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", "413", "503"]},
    "negative_data_rejection": {"expected-statuses": ["400", "404", "405", "413", "415", "422"]},
}


@pytest.fixture(scope="module")
def served_document(contract_server):
    """The document as the server serves it at /openapi.json: what a client team would load."""
    config = schemathesis.config.SchemathesisConfig.from_dict({"checks": CHECKS})
    return schemathesis.openapi.from_url(f"{contract_server}/openapi.json", config=config)


contract = schemathesis.pytest.from_fixture("served_document")


@contract.parametrize()
@settings(max_examples=CONTRACT_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_server_keeps_the_contract(case):
    """No 5xx but the documented 503, every status, content type, header and body as documented; bad data
    refused with a 4xx, good data accepted."""
    case.call_and_validate(timeout=30)
