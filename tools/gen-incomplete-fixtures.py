#!/usr/bin/env python3
"""Generate fixtures/handovers/incomplete/: realistic incomplete handovers, each a complete fixture
(fixtures/handovers/<kind>-nl.json or -be.json) with exactly one rule broken, and expected.json with
the issue each must raise (code and exact expression). tests/api/validation.rs holds the broker to it.

Each case is checked when generated: run with the broker's `validate --json` and it refuses to write
a case whose expected issue is not the only error the broker reports.

Usage:  python3 tools/gen-incomplete-fixtures.py target/debug/handover-broker
"""
import copy
import json
import os
import subprocess
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "handovers")
OUT = os.path.join(HERE, "incomplete")
SCT, LOINC = "http://snomed.info/sct", "http://loinc.org"


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def entry(bundle, rtype, nth=0):
    """Index of the nth entry holding a resource of this type."""
    found = [i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == rtype]
    return found[nth]


def res(bundle, rtype, nth=0):
    return bundle["entry"][entry(bundle, rtype, nth)]["resource"]


def at(bundle, rtype, path="", nth=0):
    return f"Bundle.entry[{entry(bundle, rtype, nth)}].resource" + (f".{path}" if path else "")


def focus_composition(bundle):
    """The handover's Composition (for a referral: the letter behind the ServiceRequest)."""
    return res(bundle, "Composition")


def section_index(composition, code):
    return next(i for i, s in enumerate(composition["section"]) if s["code"]["coding"][0]["code"] == code)


def drop_section(bundle, *codes):
    """Removes sections (top level or one down) with any of these codes."""
    c = focus_composition(bundle)

    def keep(s):
        return s["code"]["coding"][0]["code"] not in codes

    c["section"] = [s for s in c["section"] if keep(s)]
    for s in c["section"]:
        if "section" in s:
            s["section"] = [x for x in s["section"] if keep(x)]


CASES = []


def case(name, base, code, why):
    def register(mutate):
        CASES.append((name, base, code, why, mutate))
        return mutate
    return register


# --- discharge summary ----------------------------------------------------------------------------

@case("discharge-summary--author-missing", "discharge-summary-nl.json", "required", "Composition.author is missing")
def _(b):
    del focus_composition(b)["author"]
    return at(b, "Composition", "author")


@case("discharge-summary--custodian-missing", "discharge-summary-nl.json", "required", "Composition.custodian (the hospital that keeps the record) is missing")
def _(b):
    del focus_composition(b)["custodian"]
    return at(b, "Composition", "custodian")


@case("discharge-summary--missing-medication-section", "discharge-summary-nl.json", "invariant", "No medication at discharge section (LOINC 10183-2 or 10160-0)")
def _(b):
    drop_section(b, "10183-2", "10160-0")
    return at(b, "Composition")


@case("discharge-summary--empty-allergies-section", "discharge-summary-be.json", "invariant", "The allergies section has neither entries, text nor an emptyReason")
def _(b):
    c = focus_composition(b)
    i = section_index(c, "48765-2")
    for key in ("entry", "text", "emptyReason"):
        c["section"][i].pop(key, None)
    return at(b, "Composition", f"section[{i}]")


@case("discharge-summary--encounter-without-period", "discharge-summary-nl.json", "required", "The admission Encounter has no period")
def _(b):
    del res(b, "Encounter")["period"]
    return at(b, "Encounter", "period")


@case("discharge-summary--patient-without-birthdate", "discharge-summary-be.json", "required", "Patient.birthDate is missing")
def _(b):
    del res(b, "Patient")["birthDate"]
    return at(b, "Patient", "birthDate")


@case("discharge-summary--patient-without-bsn", "discharge-summary-nl.json", "invariant", "The patient has only a hospital number, no BSN or INSZ (hb-pat-1)")
def _(b):
    res(b, "Patient")["identifier"] = [{"system": "https://ehr.zzl.example/fhir/NamingSystem/patient-number", "value": "ZZL-0048211"}]
    return at(b, "Patient")


@case("discharge-summary--bsn-check-digit", "discharge-summary-nl.json", "value", "The patient's BSN fails the 11-check (one digit mistyped)")
def _(b):
    ident = res(b, "Patient")["identifier"][0]
    ident["value"] = ident["value"][:-1] + str((int(ident["value"][-1]) + 1) % 10)
    return at(b, "Patient", "identifier[0].value")


@case("discharge-summary--second-patient", "discharge-summary-nl.json", "business-rule", "A second Patient in the Bundle (copied from another handover)")
def _(b):
    other = copy.deepcopy(res(b, "Patient"))
    other["id"] = "d0c6d6d3-5b0c-4e7e-9a38-0d7c1f6a2b11"
    other["identifier"][0]["value"] = "999911132"
    b["entry"].append({"fullUrl": "urn:uuid:" + other["id"], "resource": other})
    return f"Bundle.entry[{len(b['entry']) - 1}].resource"


@case("discharge-summary--status-preliminary", "discharge-summary-nl.json", "code-invalid", "A preliminary document is sent as a handover")
def _(b):
    focus_composition(b)["status"] = "preliminary"
    return at(b, "Composition", "status")


@case("discharge-summary--unresolved-reference", "discharge-summary-be.json", "not-found", "A medication entry points at a resource not in the Bundle")
def _(b):
    c = focus_composition(b)
    i = section_index(c, "10183-2")
    c["section"][i]["entry"][0]["reference"] = "urn:uuid:0b7e2f5c-0000-4000-8000-000000000000"
    return at(b, "Composition", f"section[{i}].entry[0]")


@case("discharge-summary--wrong-type-code", "discharge-summary-nl.json", "code-invalid", "Composition.type is LOINC 11488-4 (consult note), not a discharge summary")
def _(b):
    focus_composition(b)["type"] = {"coding": [{"system": LOINC, "code": "11488-4", "display": "Consult note"}]}
    return at(b, "Composition", "type")


@case("discharge-summary--subject-not-patient", "discharge-summary-be.json", "value", "Composition.subject points at the cardiologist, not the patient")
def _(b):
    c = focus_composition(b)
    c["subject"] = {"reference": b["entry"][entry(b, "Practitioner")]["fullUrl"]}
    return at(b, "Composition", "subject")


@case("discharge-summary--letter-declared-as-text", "discharge-summary-nl.json", "value", "The PDF discharge letter is declared as text/plain")
def _(b):
    res(b, "DocumentReference")["content"][0]["attachment"]["contentType"] = "text/plain"
    return at(b, "DocumentReference", "content[0].attachment.data")


@case("discharge-summary--letter-hash-wrong", "discharge-summary-nl.json", "value", "The letter's SHA-1 hash is not the hash of its bytes (a truncated upload)")
def _(b):
    att = res(b, "DocumentReference")["content"][0]["attachment"]
    att["hash"] = "2jmj7l5rSw0yVb/vlWAYkK/YBwk="
    return at(b, "DocumentReference", "content[0].attachment.hash")


# --- nursing handover -----------------------------------------------------------------------------

@case("nursing-handover--missing-alerts", "nursing-handover-nl.json", "invariant", "No alerts ('Let op') section")
def _(b):
    drop_section(b, "308813009", "104605-1")
    return at(b, "Composition")


@case("nursing-handover--missing-payer", "nursing-handover-be.json", "invariant", "No payer (mutuality) section")
def _(b):
    drop_section(b, "302147001", "48768-6")
    return at(b, "Composition")


@case("nursing-handover--missing-pain-score", "nursing-handover-nl.json", "invariant", "No pain score section")
def _(b):
    drop_section(b, "11011000146108")
    return at(b, "Composition")


@case("nursing-handover--transfer-date-missing", "nursing-handover-nl.json", "invariant", "The stay's Encounter has no end: no transfer date (hb-enc-2)")
def _(b):
    del res(b, "Encounter")["period"]["end"]
    return at(b, "Encounter", "period")


@case("nursing-handover--empty-skin-section", "nursing-handover-be.json", "invariant", "The wounds and skin section is empty and says not why")
def _(b):
    c = focus_composition(b)
    i = section_index(c, "8709-8")
    c["section"][i].pop("entry")
    return at(b, "Composition", f"section[{i}]")


@case("nursing-handover--author-a-patient", "nursing-handover-nl.json", "value", "Composition.author points at the patient")
def _(b):
    focus_composition(b)["author"] = [{"reference": b["entry"][entry(b, "Patient")]["fullUrl"]}]
    return at(b, "Composition", "author[0]")


@case("nursing-handover--wrong-type-code", "nursing-handover-be.json", "code-invalid", "Composition.type is a discharge summary, not a nursing transfer")
def _(b):
    focus_composition(b)["type"] = {"coding": [{"system": LOINC, "code": "18842-5", "display": "Discharge summary"}]}
    return at(b, "Composition", "type")


@case("nursing-handover--insz-check-digits", "nursing-handover-be.json", "value", "The patient's INSZ has wrong modulo-97 check digits")
def _(b):
    ident = res(b, "Patient")["identifier"][0]
    ident["value"] = ident["value"][:-2] + f"{(int(ident['value'][-2:]) + 1) % 97:02d}"
    return at(b, "Patient", "identifier[0].value")


# --- referral -------------------------------------------------------------------------------------

@case("referral--without-question", "referral-nl.json", "invariant", "The letter has no question (vraagstelling) section")
def _(b):
    drop_section(b, "42349-1")
    return at(b, "Composition")


@case("referral--without-results", "referral-be.json", "invariant", "The letter has no relevant results section")
def _(b):
    drop_section(b, "30954-2")
    return at(b, "Composition")


@case("referral--code-not-a-referral", "referral-nl.json", "code-invalid", "ServiceRequest.code is a lab test, not a referral")
def _(b):
    res(b, "ServiceRequest")["code"] = {"coding": [{"system": LOINC, "code": "4548-4", "display": "Hemoglobin A1c"}]}
    return at(b, "ServiceRequest", "code")


@case("referral--without-specialty", "referral-nl.json", "required", "No requested specialty (performerType)")
def _(b):
    del res(b, "ServiceRequest")["performerType"]
    return at(b, "ServiceRequest", "performerType")


@case("referral--intent-plan", "referral-be.json", "code-invalid", "intent plan: a plan is not a referral")
def _(b):
    res(b, "ServiceRequest")["intent"] = "plan"
    return at(b, "ServiceRequest", "intent")


@case("referral--without-reason", "referral-nl.json", "invariant", "No reasonCode or reasonReference (hb-ref-1)")
def _(b):
    sr = res(b, "ServiceRequest")
    sr.pop("reasonCode")
    sr.pop("reasonReference")
    return at(b, "ServiceRequest")


@case("referral--without-letter", "referral-nl.json", "required", "No referral letter (supportingInfo)")
def _(b):
    del res(b, "ServiceRequest")["supportingInfo"]
    return at(b, "ServiceRequest", "supportingInfo")


@case("referral--without-priority", "referral-be.json", "required", "No priority")
def _(b):
    del res(b, "ServiceRequest")["priority"]
    return at(b, "ServiceRequest", "priority")


@case("referral--requester-without-identifier", "referral-nl.json", "required", "The referring GP has no AGB/UZI identifier")
def _(b):
    del res(b, "Practitioner")["identifier"]
    return at(b, "Practitioner", "identifier")


@case("referral--second-patient", "referral-be.json", "business-rule", "The ServiceRequest's subject is another patient")
def _(b):
    other = copy.deepcopy(res(b, "Patient"))
    other["id"] = "9f5b7f0e-2f55-4d7c-8f0a-5d6c1b9e7a21"
    b["entry"].append({"fullUrl": "urn:uuid:" + other["id"], "resource": other})
    return f"Bundle.entry[{len(b['entry']) - 1}].resource"


# --- care request ---------------------------------------------------------------------------------

@case("care-request--unknown-care-type", "care-request-nl.json", "code-invalid", "The care type is not one of the care-type code system")
def _(b):
    res(b, "ServiceRequest")["code"]["coding"][0]["code"] = "nursing-home"
    return at(b, "ServiceRequest", "code")


@case("care-request--without-care-needs", "care-request-be.json", "invariant", "The letter does not say what care is needed")
def _(b):
    drop_section(b, "18776-5", "365448001")
    return at(b, "Composition")


@case("care-request--without-priority", "care-request-nl.json", "required", "No urgency (priority)")
def _(b):
    del res(b, "ServiceRequest")["priority"]
    return at(b, "ServiceRequest", "priority")


# --- admission handover ---------------------------------------------------------------------------

@case("admission-handover--missing-problem-list", "admission-handover-be.json", "invariant", "No active problem list")
def _(b):
    drop_section(b, "11450-4", "417662000")
    return at(b, "Composition")


@case("admission-handover--missing-alerts", "admission-handover-nl.json", "invariant", "No alerts section")
def _(b):
    drop_section(b, "104605-1", "308813009")
    return at(b, "Composition")


@case("admission-handover--author-missing", "admission-handover-be.json", "required", "Composition.author is missing")
def _(b):
    del focus_composition(b)["author"]
    return at(b, "Composition", "author")


@case("admission-handover--empty-medication-section", "admission-handover-nl.json", "invariant", "The medication section is empty and says not why")
def _(b):
    c = focus_composition(b)
    i = section_index(c, "10160-0")
    for key in ("entry", "text", "emptyReason"):
        c["section"][i].pop(key, None)
    return at(b, "Composition", f"section[{i}]")


@case("admission-handover--patient-without-gender", "admission-handover-be.json", "required", "Patient.gender is missing")
def _(b):
    del res(b, "Patient")["gender"]
    return at(b, "Patient", "gender")


@case("admission-handover--patient-without-insz", "admission-handover-be.json", "invariant", "The patient has only a nursing-home resident number (hb-pat-1)")
def _(b):
    res(b, "Patient")["identifier"] = [{"system": "https://wzc-de-duinen.example/fhir/NamingSystem/resident", "value": "R-2023-0117"}]
    return at(b, "Patient")


@case("admission-handover--wrong-type-code", "admission-handover-nl.json", "code-invalid", "Composition.type is LOINC 11488-4 (consult note)")
def _(b):
    focus_composition(b)["type"] = {"coding": [{"system": LOINC, "code": "11488-4", "display": "Consult note"}]}
    return at(b, "Composition", "type")


def errors(broker, path):
    out = subprocess.run([broker, "validate", "--json", path], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    outcome = json.loads(out.stdout.strip().splitlines()[-1])
    return [(i["code"], (i.get("expression") or [""])[0], i.get("diagnostics", "")) for i in outcome["issue"]
            if i["severity"] in ("error", "fatal")]


def main():
    broker = sys.argv[1] if len(sys.argv) > 1 else "target/debug/handover-broker"
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    failed = False
    for name, base, code, why, mutate in CASES:
        bundle = load(base)
        expression = mutate(bundle)
        path = os.path.join(OUT, name + ".json")
        with open(path, "w") as f:
            json.dump(bundle, f, indent=2, ensure_ascii=False)
            f.write("\n")
        found = errors(broker, path)
        if [(c, e) for c, e, _ in found] != [(code, expression)]:
            print(f"{name}: expected only {code} at {expression}, got {found}", file=sys.stderr)
            failed = True
        expected[name + ".json"] = {"code": code, "expression": expression, "rule": why, "from": base}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
