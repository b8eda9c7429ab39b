#!/usr/bin/python3
"""Validates answers of engaged's read API against schemas/api.openapi.yaml.

Usage: apischema.py SCHEMAS_DIR COMPONENT FILE [COMPONENT FILE]...

Each FILE holds one JSON answer; COMPONENT names its schema under
components/schemas of the OpenAPI file (CampaignAnswer, Error, ...).  The
OpenAPI 3.1 document's schemas are JSON Schema draft 2020-12, checked by
Debian's python3-jsonschema; the alert schema the API refers to
(urn:engaged:schema:alert) is schemas/alert.schema.json, checked on each
alert with that file as its own root (jsonschema 4.10's resolver cannot
enter a urn: document from another one).  Also checks that the OpenAPI
schemas are themselves valid JSON Schema.

Prints one line per invalid answer and exits 1 when any is invalid, 2 on a
usage or file error.
"""
import json
import sys

import jsonschema
import yaml


def main(argv):
    if len(argv) < 4 or len(argv) % 2 != 0:
        print(__doc__, file=sys.stderr)
        return 2
    schemas = argv[1]
    with open(schemas + "/api.openapi.yaml") as f:
        spec = yaml.safe_load(f)
    with open(schemas + "/alert.schema.json") as f:
        alert = json.load(f)
    cls = jsonschema.Draft202012Validator
    for name, sch in spec["components"]["schemas"].items():
        cls.check_schema(sch)
    alert_validator = cls(alert)
    alert_ref = {"$ref": alert["$id"]}

    def unref(node):
        """The spec with every reference to the alert schema made "an
        object": alerts are checked on their own."""
        if node == alert_ref:
            return {"type": "object"}
        if isinstance(node, dict):
            return {k: unref(v) for k, v in node.items()}
        if isinstance(node, list):
            return [unref(v) for v in node]
        return node

    spec = unref(spec)
    bad = 0
    for component, path in zip(argv[2::2], argv[3::2]):
        if component not in spec["components"]["schemas"]:
            print("%s: no component %s" % (path, component))
            return 2
        # The OpenAPI document is the root, so that its "#/components/..."
        # references resolve; keywords of OpenAPI's own are ignored.
        root = dict(spec)
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        root["$ref"] = "#/components/schemas/" + component
        validator = cls(root)
        with open(path) as f:
            try:
                doc = json.load(f)
            except ValueError as e:
                print("%s: not JSON: %s" % (path, e))
                bad += 1
                continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if component == "AlertsAnswer" and not errors:
            for item in doc["data"]["alerts"]:
                errors += list(alert_validator.iter_errors(item["alert"]))
        for e in errors[:5]:
            print("%s (%s): %s at %s" % (path, component, e.message,
                                         "/".join(map(str, e.path))))
        bad += bool(errors)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
