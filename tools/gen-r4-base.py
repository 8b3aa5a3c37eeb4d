#!/usr/bin/env python3
"""Generate spec/r4-base.json: the base FHIR R4 (4.0.1) element model the broker checks every resource
against, as data stripped of the specification's prose.

Sources (official HL7 definitions, as kept in ../shared/corpus, see its SOURCES.md):
  - hl7-r4-examples/json-schema/fhir.schema.json  (the R4 JSON schema: every type's elements, their
    types, arrays, primitive patterns, and the required-binding code lists it inlines as `enum`, 246 of
    them)
  - hl7-r4-examples/structuredefinitions/*.json   (core StructureDefinition snapshots: min cardinality
    of the elements the schema cannot require, the resource types a Reference may point to, and the
    binding strength of their `code` elements; a required binding whose `short` is a complete list of
    codes, "a | b | c" without "+", adds those codes)

  - optionally, fhir-sdk's generated R4B model (crate fhir-model 0.13, `src/r4b`), itself generated from
    the official 4.3.0 definitions:
      * an element it types without Option/Vec is 1..1. This gives minimum cardinalities for the types
        whose core StructureDefinition is not in the corpus (Narrative.status, Procedure.status ...);
        R4B and R4 agree on these for the types checked, and the corpus test guards against any
        disagreement (no false error on the R4 examples).
      * required-binding code lists, for the `code` elements whose codes the R4 schema does not inline
        (Procedure.status, CarePlan.status, ServiceRequest.status/intent, Composition.section.mode ...):
          - a field typed `codes::X` (`Option<codes::X>`, `Vec<Option<codes::X>>`) is bound to the value
            set its doc comment names ("**[Name](value set); short**"), and X's codes are the arms of its
            `FromStr` match in `codes/generated.rs`. They are the whole value set when X's own doc names
            that same value set (fhir-sdk builds X from a code system that declares the value set of all
            its codes). An X built from a code system alone keeps a `_Custom` variant and may be part of
            the value set only (TaskIntent lacks the request-intent codes): used only to add to an R4 list.
          - a field fhir-sdk types `String` although bound (it has enums only for the value sets it
            matched to a code system; not MedicationStatement.status, MedicationRequest.status/intent,
            Immunization.status, the fm-status ones ...): a short that is a complete list of codes gives
            the codes. Never for languages or MIME types (grammars, not lists), and where the corpus has
            the R4 SD, only if its binding strength is required. fhir-sdk writes the doc comment for a
            bound field whatever the strength; the core `code` elements bound with another strength
            than required are the languages (preferred).
          - a binding to resource-types: R4's resource types, the schema's 146 plus the abstract
            Resource and DomainResource (R4B's ResourceType is another version's list).
        Where R4 has a list (schema, SD), the list is R4's codes plus R4B's: R4B differs slightly from R4,
        and a false error on real R4 data is worse than a missed code.
        R4B structs map to schema types by path: fhir-sdk names a backbone element after its owner's
        struct and the field (CapabilityStatementRestResource), the schema after the resource and the
        last step (CapabilityStatement_Resource).
  - REQUIRED_EXTERNAL below: the codes of a required binding to a small value set outside both inputs
    (Composition.confidentiality), written out from the R4 specification; the corpus SD must confirm the
    binding.

A `code` element that ends without a code list is bound to an external or unenumerable code system
(languages, MIME types, UCUM, ISO 4217, FHIR type names), or its R4B list is open, or it is unbound
(Coding.code, the codes a CodeSystem defines); `src/profiles/base.rs` lists each with its reason, and its
unit test fails on any other.

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


# Required bindings to a value set that neither input enumerates, written out from the R4 specification:
# (schema type, element) -> (the value set the corpus SD must bind it to, with strength required; codes).
REQUIRED_EXTERNAL = {
    # R4 Composition.confidentiality: binding DocumentConfidentiality, Required,
    # v3.ConfidentialityClassification (2014-03-26): U unrestricted, L low, M moderate, N normal,
    # R restricted, V very restricted (terminology.hl7.org CodeSystem v3-Confidentiality).
    ("Composition", "confidentiality"): ("http://terminology.hl7.org/ValueSet/v3-ConfidentialityClassification",
                                         ["U", "L", "M", "N", "R", "V"]),
}

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NOT_FROM_SHORT = re.compile(r"/ValueSet/(languages|all-languages|mimetypes)(\|.*)?$")


def short_codes(short):
    """The codes an element's short lists ("a | b | c"), or None if it is not a complete list of codes
    ("draft | requested | received | accepted | +", "allergy | intolerance - Underlying mechanism")."""
    items = [item.strip() for item in short.split(" | ")]
    if len(items) < 2 or not all(CODE.match(item) for item in items):
        return None
    return items


def backbones(types):
    """Every path to a type of the schema: (FHIR path, fhir-sdk struct name, schema type). A backbone
    reached by two paths (ClaimResponse_Adjudication from item and addItem) has both; a path does not
    re-enter a type it is inside (Questionnaire.item.item)."""
    out = []

    def visit(path, struct, schema, inside):
        out.append((path, struct, schema))
        for key, e in sorted(types[schema]["e"].items()):
            t = e["t"]
            if "_" in t and t in types and t not in inside:
                visit(path + "." + key, struct + key[0].upper() + key[1:], t, inside | {t})

    for name in sorted(types):
        if "_" not in name:
            visit(name, name, name, {name})
    return out


def r4b_model(r4b, types, to_schema):
    """fhir-sdk's generated R4B model: {(schema type, element): (Rust type, first line of its doc)} for
    the elements R4 has too, and its code enums: {name: (codes, the value set they are all of, or None)}."""
    fields = {}
    for file in ("resources/generated.rs", "types/generated.rs"):
        text = open(os.path.join(r4b, file)).read()
        for m in re.finditer(r"^pub struct (\w+?)(?:Inner)? \{(.*?)^\}", text, re.S | re.M):
            owner = to_schema.get(m.group(1))
            if owner is None:
                continue
            body = m.group(2)
            for f in re.finditer(r"(?:/\*\*(.*?)\*/\s*)?((?:#\[[^\]]*\]\s*)*)pub (?:r#)?\w+: ([^,\n]+),", body, re.S):
                name = re.search(r'#\[serde\(rename = "(\w+)"\)\]', f.group(2))
                if name and name.group(1) in types[owner]["e"]:
                    summary = (f.group(1) or "").strip().split("\n")[0].strip()
                    fields[(owner, name.group(1))] = (f.group(3).strip(), summary)
    # An enum made from a code system that names the value set of all its codes is documented with that
    # value set's address and is complete; one from a code system alone keeps a `_Custom` variant.
    text = open(os.path.join(r4b, "codes/generated.rs")).read()
    value_sets = {name: url for url, name in
                  re.findall(r'#\[doc = "\*\*\[\w+\]\(([^)]*)\)\*\*[^\n]*\n(?:#\[derive[^\n]*\n)*pub enum (\w+)', text)}
    enums = {}
    for m in re.finditer(r"^impl ::core::str::FromStr for (\w+) \{(.*?)^\}", text, re.S | re.M):
        codes = re.findall(r'"([^"\\]*)" => Ok\(Self::', m.group(2))
        enums[m.group(1)] = (codes, None if "_Custom" in m.group(2) else value_sets.get(m.group(1)))
    return fields, enums


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

    walk = backbones(types)
    at_path = {path: schema for path, _, schema in walk}
    schema_codes = {(name, key) for name, t in types.items() for key, e in t["e"].items() if "enum" in e}

    def add_codes(owner, key, codes):
        """Adds codes to an element's list, after those it has (R4's first)."""
        listed = types[owner]["e"][key].setdefault("enum", [])
        listed.extend(c for c in codes if c not in listed)

    # From the core StructureDefinition snapshots: minimum cardinalities, the resource types a Reference
    # may point to, and code bindings. `Composition.section.title` lives on schema type
    # `Composition_Section`; bindings are placed by path (`Bundle.entry.request.method` on `Bundle_Request`).
    strength = {}
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
                owner = at_path.get(".".join(parts[:-1]))
                binding = el.get("binding")
                if owner and binding and [t.get("code") for t in el.get("type", [])] == ["code"]:
                    if types[owner]["e"].get(parts[-1], {}).get("t") == "code":
                        strength[(owner, parts[-1])] = (binding["strength"], binding.get("valueSet", ""))
                        codes = short_codes(el.get("short", ""))
                        if binding["strength"] == "required" and codes:
                            add_codes(owner, parts[-1], codes)
            if len(parts) < 2 or el.get("min", 0) < 1 or el["path"].endswith("[x]"):
                continue
            owner = parts[0] + "".join("_" + p[0].upper() + p[1:] for p in parts[1:-1])
            if owner in types and parts[-1] in types[owner]["e"] and parts[-1] not in types[owner]["req"]:
                types[owner]["req"].append(parts[-1])
                types[owner]["req"].sort()

    for (owner, key), (value_set, codes) in REQUIRED_EXTERNAL.items():
        if strength.get((owner, key), ("", ""))[0] != "required" or \
                strength[(owner, key)][1].split("|")[0] != value_set:
            sys.exit(f"{owner}.{key}: the corpus SD does not bind it to {value_set} with strength required")
        add_codes(owner, key, codes)

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

    # Required-binding code lists of fhir-sdk's generated model.
    if len(sys.argv) > 2:
        to_schema = {struct: schema for _, struct, schema in walk}
        fields, enums = r4b_model(sys.argv[2], types, to_schema)
        r4_resource_types = resources + ["DomainResource", "Resource"]
        for (owner, key), (rust_type, summary) in sorted(fields.items()):
            if types[owner]["e"][key]["t"] != "code":
                continue
            binding = re.fullmatch(r"\*\*\[\w+\]\(([^)|]*)(?:\|[^)]*)?\); (.*?)\s*\*\*", summary)
            value_set, short = binding.groups() if binding else ("", "")
            bound = re.fullmatch(r"(?:Option<|Vec<Option<|Vec<)?codes::(\w+)>*", rust_type)
            if value_set == "http://hl7.org/fhir/ValueSet/resource-types":
                add_codes(owner, key, r4_resource_types + (enums[bound.group(1)][0] if bound else []))
            elif bound:
                codes, complete = enums[bound.group(1)]
                if complete == value_set or "enum" in types[owner]["e"][key]:
                    add_codes(owner, key, codes)
            elif value_set and not NOT_FROM_SHORT.search(value_set):
                if strength.get((owner, key), ("required",))[0] == "required" and short_codes(short):
                    add_codes(owner, key, short_codes(short))

    listed = sum("enum" in e for t in types.values() for e in t["e"].values())
    code = sum(e["t"] == "code" for t in types.values() for e in t["e"].values())
    print(f"code lists: {listed} elements ({len(schema_codes)} from the schema); {code - listed} code elements without",
          file=sys.stderr)

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
