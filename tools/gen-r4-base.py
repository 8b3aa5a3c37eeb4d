#!/usr/bin/env python3
"""Generate spec/r4-base.json: the base FHIR R4 (4.0.1) element model the broker checks every resource
against, as data stripped of the specification's prose.

Sources (official HL7 definitions, as kept in ../shared/corpus, see its SOURCES.md):
  - hl7-r4-examples/json-schema/fhir.schema.json  (the R4 JSON schema: every type's elements, their
    types, arrays, primitive patterns, required-binding code lists)
  - hl7-r4-examples/structuredefinitions/*.json   (core StructureDefinition snapshots: min cardinality
    of the elements the schema cannot require)

  - optionally, fhir-sdk's generated R4B model (crate fhir-model 0.13, `src/r4b`), itself generated from
    the official 4.3.0 definitions: an element it types without Option/Vec is 1..1. This gives minimum
    cardinalities for the types whose core StructureDefinition is not in the corpus (Narrative.status,
    Procedure.status ...); R4B and R4 agree on these for the types checked, and the corpus test guards
    against any disagreement (no false error on the R4 examples).

Usage:  python3 tools/gen-r4-base.py ../shared/corpus/hl7-r4-examples \
            ~/.cargo/registry/src/*/fhir-model-0.13.0/src/r4b > spec/r4-base.json
"""
import re
import json
import os
import sys

PRIMITIVE_JSON = {"boolean": "boolean", "decimal": "number", "integer": "integer", "positiveInt": "integer",
                  "unsignedInt": "integer"}


def element(key, prop, primitives):
    """One property of the schema -> {"t": type, "a": 1 if array, "enum": [...]}."""
    out = {}
    if prop.get("type") == "array" and "items" in prop:
        out["a"] = 1
        prop = prop["items"]
    if "$ref" in prop:
        out["t"] = prop["$ref"].rsplit("/", 1)[1]
    elif "enum" in prop:
        out["t"] = "code"
        out["enum"] = prop["enum"]
    elif "const" in prop:
        out["t"] = "const"
    elif "pattern" in prop or "type" in prop:
        # An inlined primitive (choice-type variants): find it by its pattern.
        # Several primitives share a pattern (string, markdown); the variant's name says which:
        # valueString, valueMarkdown.
        pattern = prop.get("pattern")
        matches = [name for name, p in primitives.items() if p.get("pattern") == pattern]
        named = [name for name in matches if key.endswith(name[0].upper() + name[1:])]
        out["t"] = (named or matches or ["string"])[0]
    else:
        out["t"] = "Element"
    return out


def main():
    corpus = sys.argv[1]
    schema = json.load(open(os.path.join(corpus, "json-schema/fhir.schema.json")))
    defs = schema["definitions"]
    primitives = {name: d for name, d in defs.items() if name[0].islower()}
    resources = [r["$ref"].rsplit("/", 1)[1] for r in defs["ResourceList"]["oneOf"]]

    # Choice elements (value[x]) appear in the schema as one property per type: valueQuantity,
    # valueString, ... Group them by their base so that the broker can refuse two variants at once.
    type_names = sorted({n[0].upper() + n[1:] for n in defs if n != "ResourceList" and "_" not in n}, key=len)

    def choice_base(key):
        for t in reversed(type_names):  # longest suffix first: valueCodeableConcept, not ...Concept
            if key.endswith(t) and len(key) > len(t) and key[0].islower():
                return key[: -len(t)]
        return None

    types = {}
    for name, d in defs.items():
        if name == "ResourceList" or name[0].islower() or "properties" not in d:
            continue
        elements = {key: element(key, prop, primitives) for key, prop in d["properties"].items()}
        # A choice's variants are never arrays and share one definition text (valueQuantity and
        # valueString both say "The information determined as a result..."); siblings that merely end
        # in a type name (CarePlan.activity.outcomeCodeableConcept / outcomeReference) do not.
        bases = {}
        for key, prop in d["properties"].items():
            base = choice_base(key)
            if base and "a" not in elements[key]:
                bases.setdefault((base, prop.get("description")), []).append(key)
        for (base, _), keys in bases.items():
            if len(keys) >= 2:
                for key in keys:
                    elements[key]["c"] = base
        required = sorted(r for r in d.get("required", []) if r != "resourceType")
        types[name] = {"e": elements, "req": required}

    # From the core StructureDefinition snapshots: minimum cardinalities, and the resource types a
    # Reference may point to. `Composition.section.title` lives on schema type `Composition_Section`.
    sd_dir = os.path.join(corpus, "structuredefinitions")
    for file in sorted(os.listdir(sd_dir)):
        sd = json.load(open(os.path.join(sd_dir, file)))
        for el in sd.get("snapshot", {}).get("element", []):
            parts = el["path"].split(".")
            if len(parts) >= 2:
                owner = parts[0] + "".join("_" + p[0].upper() + p[1:] for p in parts[1:-1])
                name = parts[-1][:-3] + "Reference" if parts[-1].endswith("[x]") else parts[-1]
                for t in el.get("type", []):
                    targets = [p.rsplit("/", 1)[1] for p in t.get("targetProfile", [])]
                    if t.get("code") == "Reference" and targets and "Resource" not in targets:
                        if owner in types and name in types[owner]["e"]:
                            types[owner]["e"][name]["r"] = sorted(targets)
            if len(parts) < 2 or el.get("min", 0) < 1 or el["path"].endswith("[x]"):
                continue
            owner = parts[0] + "".join("_" + p[0].upper() + p[1:] for p in parts[1:-1])
            if owner in types and parts[-1] in types[owner]["e"] and parts[-1] not in types[owner]["req"]:
                types[owner]["req"].append(parts[-1])
                types[owner]["req"].sort()

    # Required (non-Option, non-Vec) fields of fhir-sdk's generated model.
    if len(sys.argv) > 2:
        by_concat = {n.replace("_", ""): n for n in types}
        for file in ("resources/generated.rs", "types/generated.rs"):
            text = open(os.path.join(sys.argv[2], file)).read()
            for m in re.finditer(r"^pub struct (\w+?)(?:Inner)? \{(.*?)^\}", text, re.S | re.M):
                owner = by_concat.get(m.group(1))
                if owner is None:
                    continue
                for f in re.finditer(r'#\[serde\(rename = "(\w+)"\)\]\s*(?:#\[[^\]]*\]\s*)*pub \w+: ([^,\n]+),', m.group(2)):
                    name, rust_type = f.group(1), f.group(2).strip()
                    if rust_type.startswith(("Option<", "Vec<")) or name.startswith("_"):
                        continue
                    if name in types[owner]["e"] and name not in types[owner]["req"]:
                        types[owner]["req"].append(name)
                        types[owner]["req"].sort()

    out = {
        "fhirVersion": "4.0.1",
        "generatedBy": "tools/gen-r4-base.py",
        "resources": sorted(resources),
        "primitives": {name: {"json": PRIMITIVE_JSON.get(name, "string"), "pattern": p.get("pattern")}
                       for name, p in sorted(primitives.items())},
        "types": types,
    }
    json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
