#!/usr/bin/env python3
"""Generate spec/r4-order.json: the order of every R4 type's elements, which FHIR XML requires
(hl7.org/fhir/R4/xml.html: elements appear in the order of their definition) and JSON does not keep.

Source: hl7-r4-examples/json-schema/fhir.schema.json of ../shared/corpus (see its SOURCES.md), whose
properties are listed in definition order. Output: {"Type": ["element", ...]} without `resourceType`
and the `_element` companions of primitives (XML writes those with their element).

Usage: python3 tools/gen-r4-order.py ../shared/corpus/hl7-r4-examples > spec/r4-order.json
"""
import json
import os
import sys


def main():
    schema = json.load(open(os.path.join(sys.argv[1], "json-schema/fhir.schema.json")))
    order = {}
    for name, definition in schema["definitions"].items():
        properties = definition.get("properties")
        if not properties:
            continue
        order[name] = [p for p in properties if p != "resourceType" and not p.startswith("_")]
    json.dump(order, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
