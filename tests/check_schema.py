"""Validates a JSON document on stdin against a JSON Schema file: `check_schema.py SCHEMA`.

The integration tests pipe rampart's drift reports through it, so the published schema
(`docs/drift-report.schema.json`) cannot drift from what the binary writes.
"""

import json
import sys

import jsonschema


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    document = json.load(sys.stdin)
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(document),
        key=lambda e: list(e.path),
    )
    for e in errors:
        where = "/".join(str(p) for p in e.path) or "(root)"
        print(f"{where}: {e.message}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
