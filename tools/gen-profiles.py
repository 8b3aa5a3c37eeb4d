#!/usr/bin/env python3
"""Generate the handover kinds in profiles/: MessageDefinitions, StructureDefinitions and ValueSets, from
the compact tables below, each with a generated narrative that lists every rule.

Why a generator: the kinds share their building blocks (patient, author, section rules, the choice
between a Dutch SNOMED and a Belgian or international LOINC section code) and a conformance resource
written by hand drifts from its narrative. The profiles stay ordinary FHIR JSON; users may add kinds
by dropping their own conformance resources into profiles/ without this script.

Standards followed (facts only; see each resource's description):
  - Nictiz eOverdracht 4.0 "Overdrachtsbericht volwassenen" and the zib2020 building blocks: Composition
    type SNOMED 371535009 (transfer summary report) with SNOMED sections (405624007 administrative,
    109481000146101 personal and social, 371524004 clinical report, 773130005 nursing care plan,
    5531000179105 nursing report) and the sub-section codes they use; author a PractitionerRole or the
    sending system (Device).
  - NHG HASP (huisarts-specialist referral letter, "verwijsbrief"): the question (vraagstelling), the
    history, relevant results, medication, allergies; the requested specialty.
  - HL7 Belgium core (patient SSIN, organisations by NIHDI/CBE) and the HL7 Belgium referral model
    (ServiceRequest with intent proposal or order, performerType).
  - HL7 IPS 2.0 section codes (LOINC) for the common sections (problems 11450-4, medication 10160-0,
    allergies 48765-2, alerts 104605-1, advance directives 42348-3, functional status 47420-5).

Usage:  python3 tools/gen-profiles.py profiles/
"""
import html
import json
import os
import sys

BASE = "https://fhir.handover-broker.eu"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
VERSION = "0.2.0"
DATE = "2026-12-01"
JURISDICTION = [
    {"coding": [{"system": "urn:iso:std:iso:3166", "code": "NL", "display": "Netherlands"}]},
    {"coding": [{"system": "urn:iso:std:iso:3166", "code": "BE", "display": "Belgium"}]},
]


def metadata(resource_type, name, url, title, description):
    """The members every conformance resource here starts with."""
    return {
        "resourceType": resource_type,
        "id": name,
        "url": url,
        "version": VERSION,
        "name": "".join(p.capitalize() for p in name.split("-")),
        "title": title,
        "status": "active",
        "experimental": False,
        "date": DATE,
        "publisher": "handover-broker",
        "description": description,
        "jurisdiction": JURISDICTION,
    }


def sd_url(name):
    return f"{BASE}/StructureDefinition/{name}"


def vs_url(name):
    return f"{BASE}/ValueSet/{name}"


CORE = "http://hl7.org/fhir/StructureDefinition/"
PATIENT = sd_url("handover-patient")
ENCOUNTER = sd_url("handover-encounter")
TRANSFER_ENCOUNTER = sd_url("handover-transfer-encounter")
PRACTITIONER = sd_url("handover-practitioner")
PRACTITIONER_ROLE = sd_url("handover-practitionerrole")
ORGANIZATION = sd_url("handover-organization")
# Who may write a handover: a practitioner, a practitioner in a role (eOverdracht), the organisation
# itself, or the sending system (a Device), as Composition.author allows in R4.
AUTHORS = [PRACTITIONER, PRACTITIONER_ROLE, ORGANIZATION, CORE + "Device"]


# --- sections -------------------------------------------------------------------------------------

class Section:
    """A section a kind requires (or recommends): found by any of its codes, at the top level or one
    level down (eOverdracht nests its sections in five groups; IPS-style documents keep them flat)."""

    def __init__(self, key, title, codes, required=True):
        self.key, self.title, self.codes, self.required = key, title, codes, required

    def shown(self):
        parts = [f"{'SNOMED' if s == SCT else 'LOINC'} {c}" for s, c, _ in self.codes]
        return " or ".join(parts)

    def expression(self):
        # The code first: it differs between sections far more often than the system, so most codings
        # are ruled out by one comparison.
        match = " or ".join(f"(code='{c}' and system='{s}')" for s, c, _ in self.codes)
        found = f"code.coding.where({match}).exists()"
        return f"section.where({found}).exists() or section.section.where({found}).exists()"

    def constraint(self):
        word = "Required" if self.required else "Recommended"
        return {
            "key": self.key,
            "severity": "error" if self.required else "warning",
            "human": f"{word} section missing: {self.title} ({self.shown()})",
            "expression": self.expression(),
        }


def s(key, title, *codes, required=True):
    return Section(key, title, list(codes), required)


def sct(code, display):
    return (SCT, code, display)


def loinc(code, display):
    return (LOINC, code, display)


# A required section has entries, sub-sections or narrative, or says why it is empty.
SECTION_CONTENT = {
    "key": "hb-section-1",
    "severity": "error",
    "human": "A section has entries, sub-sections or text, or says why it is empty (emptyReason)",
    "expression": "entry.exists() or section.exists() or text.exists() or emptyReason.exists()",
}


# --- element helpers ------------------------------------------------------------------------------

def el(path, **rules):
    out = {"id": path, "path": ".".join(part.split(":")[0] for part in path.split("."))}
    out.update(rules)
    return out


def ref(*profiles):
    return [{"code": "Reference", "targetProfile": list(profiles)}]


def card(lo, hi):
    return {"min": lo, "max": hi}


def required_binding(name):
    return {"strength": "required", "valueSet": vs_url(name)}


# --- value sets -----------------------------------------------------------------------------------

VALUE_SETS = {
    "composition-status-final-amended": (
        "Composition status: final or amended",
        "A handover document is sent only when it is final (or an amended final version): preliminary and "
        "entered-in-error documents are not handed over.",
        [("http://hl7.org/fhir/composition-status", "final", "Final"),
         ("http://hl7.org/fhir/composition-status", "amended", "Amended")],
    ),
    "referral-priority": (
        "Referral priority",
        "How soon the referral must be acted on (FHIR request-priority).",
        [("http://hl7.org/fhir/request-priority", c, d)
         for c, d in [("routine", "Routine"), ("urgent", "Urgent"), ("asap", "ASAP"), ("stat", "STAT")]],
    ),
    "referral-intent": (
        "Referral intent",
        "A referral is an order (NHG HASP: the GP refers to a specialist) or, towards a regional triage "
        "point, a proposal that the triage point turns into a placement (HL7 Belgium referral uses both). "
        "Plans and other intents are not referrals.",
        [("http://hl7.org/fhir/request-intent", c, d)
         for c, d in [("proposal", "Proposal"), ("order", "Order"), ("original-order", "Original Order")]],
    ),
    "referral-code": (
        "Referral service",
        "What a referral requests: SNOMED CT referral procedures (NHG HASP and HL7 Belgium referral both "
        "code the request as a referral procedure; the specialty goes in performerType).",
        [(SCT, "3457005", "Patient referral"),
         (SCT, "103696004", "Patient referral to specialist"),
         (SCT, "306206005", "Referral to service"),
         (SCT, "183444007", "Referral for further care"),
         (SCT, "306102008", "Referral to hospital-based service")],
    ),
    "discharge-summary-type": (
        "Discharge summary document type",
        "LOINC 18842-5 (HL7 IPS, HL7 Europe hospital discharge report, Belgian hospitals) or SNOMED "
        "373942005 (Dutch hospitals).",
        [(LOINC, "18842-5", "Discharge summary"), (SCT, "373942005", "Discharge summary")],
    ),
    "nursing-handover-type": (
        "Nursing handover document type",
        "SNOMED 371535009 'transfer summary report' (Nictiz eOverdracht 4.0) or LOINC 34745-0 'Nurse "
        "discharge summary' / 28651-8 'Nurse transfer note' (Belgian and international senders).",
        [(SCT, "371535009", "Transfer summary report"),
         (LOINC, "34745-0", "Nurse Discharge summary"),
         (LOINC, "28651-8", "Nurse Transfer note")],
    ),
    "referral-note-type": (
        "Referral letter document type",
        "LOINC 57133-1 'Referral note' or SNOMED 721927009 'Referral letter'.",
        [(LOINC, "57133-1", "Referral note"), (SCT, "721927009", "Referral letter")],
    ),
    "care-request-type": (
        "Care request letter type",
        "LOINC 57133-1 'Referral note' or SNOMED 371535009 'transfer summary report' (the eOverdracht "
        "'aanmeldbericht' that announces a patient to the next care provider).",
        [(LOINC, "57133-1", "Referral note"), (SCT, "371535009", "Transfer summary report")],
    ),
    "patient-summary-type": (
        "Patient summary document type",
        "LOINC 60591-5 'Patient summary Document' (HL7 International Patient Summary 2.0).",
        [(LOINC, "60591-5", "Patient summary Document")],
    ),
    "admission-handover-type": (
        "Admission handover document type",
        "LOINC 18761-7 'Transfer summary note' or SNOMED 371535009 'transfer summary report' (eOverdracht "
        "'aanmeldbericht' and transfer).",
        [(LOINC, "18761-7", "Transfer summary note"), (SCT, "371535009", "Transfer summary report")],
    ),
}


# --- care types (issue 14): what a regional triage point places patients into ---------------------

CARE_TYPE_SYSTEM = f"{BASE}/CodeSystem/care-type"
# code, English, Dutch, French, definition
CARE_TYPES = [
    ("acute-psychogeriatric", "Acute psychogeriatric crisis admission", "Acute psychogeriatrische crisisopname",
     "Admission de crise psychogériatrique",
     "Same-day admission of an older person with a psychogeriatric crisis (dementia with behavioural problems) that cannot be managed at home."),
    ("elv-low", "Short-stay primary care, low complexity (ELV laag complex)", "Eerstelijnsverblijf laag complex",
     "Séjour de soins de première ligne, faible complexité",
     "Temporary stay with nursing and GP care for a patient who cannot stay at home and whose care is expected to stabilise."),
    ("elv-high", "Short-stay primary care, high complexity (ELV hoog complex)", "Eerstelijnsverblijf hoog complex",
     "Séjour de soins de première ligne, complexité élevée",
     "Temporary stay for a patient with complex, unstable problems needing elderly-care physician involvement."),
    ("elv-palliative", "Short-stay palliative care (ELV palliatief)", "Eerstelijnsverblijf palliatief",
     "Séjour de soins palliatifs de première ligne",
     "Terminal care in a short-stay bed for a patient with a life expectancy of less than three months."),
    ("hospice", "Hospice", "Hospice", "Maison de soins palliatifs",
     "Palliative care in a hospice or 'bijna-thuis-huis'."),
    ("geriatric-rehabilitation", "Geriatric rehabilitation", "Geriatrische revalidatiezorg", "Revalidation gériatrique",
     "Short, intensive multidisciplinary rehabilitation of an older patient after an acute illness or operation, aimed at returning home."),
    ("respite", "Respite care", "Respijtzorg", "Soins de répit",
     "A temporary stay that relieves the informal caregiver."),
    ("home-care", "Home care (district nursing)", "Wijkverpleging", "Soins infirmiers à domicile",
     "Nursing care at home instead of an admission."),
    ("short-stay", "Short stay (Belgium: kortverblijf)", "Kortverblijf", "Court séjour",
     "A Belgian short stay in a residential care centre (woonzorgcentrum / maison de repos), up to three months."),
    ("residential-care", "Residential care (Belgium: woonzorgcentrum)", "Woonzorgcentrum (residentiële zorg)",
     "Maison de repos et de soins",
     "Permanent residential care in a Belgian residential care centre (WZC/MRS) or Dutch nursing home."),
]


def care_type_code_system():
    description = ("The kinds of care a regional triage point (Dutch 'zorgpunt', e.g. in South Limburg; Belgian "
                   "short-stay and residential-care coordination in West Flanders) places patients into. Used in "
                   "a care request's ServiceRequest.code, in an organisation's care types provided, and as the "
                   "groups of the bed-capacity Measure. Displays in English, with Dutch and French designations.")
    return {
        **metadata("CodeSystem", "care-type", CARE_TYPE_SYSTEM, "Care type", description),
        "caseSensitive": True,
        "content": "complete",
        "count": len(CARE_TYPES),
        "concept": [{
            "code": code, "display": en, "definition": definition,
            "designation": [{"language": "nl", "value": nl}, {"language": "fr", "value": fr}],
        } for code, en, nl, fr, definition in CARE_TYPES],
    }


VALUE_SETS["care-type"] = (
    "Care type",
    "Every care type a triage point places patients into (the broker's care-type code system).",
    [(CARE_TYPE_SYSTEM, code, en) for code, en, _nl, _fr, _d in CARE_TYPES],
)


# --- the kinds ------------------------------------------------------------------------------------

# Sections several kinds share, each under the kind's own constraint key.
COMMON_SITUATION = lambda key: s(key, "Current situation", loinc("10164-2", "History of Present illness Narrative"), sct("371524004", "Clinical report"))
COMMON_FUNCTIONAL = lambda key: s(key, "Functional status", loinc("47420-5", "Functional status assessment note"), sct("365178001", "Ability to perform personal care activity"))
COMMON_CONTACTS = lambda key: s(key, "Contact persons", loinc("85847-2", "Patient Care team information"), sct("302147001", "Demographic history detail"))
COMMON_ALERTS = lambda key, required=True: s(key, "Alerts", loinc("104605-1", "Alert"), sct("308813009", "Notification status"), required=required)
COMMON_ADVANCE = lambda key, required=True: s(key, "Advance directives", loinc("42348-3", "Advance directives"), sct("108329005", "Social context finding"), required=required)
COMMON_ALLERGIES = lambda key: s(key, "Allergies and intolerances", loinc("48765-2", "Allergies and adverse reactions Document"), sct("420134006", "Propensity to adverse reaction"))
COMMON_MEDICATION = lambda key: s(key, "Current medication", loinc("10160-0", "History of Medication use Narrative"), loinc("10183-2", "Hospital discharge medications Narrative"), sct("440131000124101", "Medication section"))

DISCHARGE_SECTIONS = [
    s("hb-dis-diagnoses", "Discharge diagnoses", loinc("11535-2", "Hospital discharge Dx Narrative"), sct("52870002", "Referral diagnosis"), sct("439401001", "Diagnosis")),
    s("hb-dis-procedures", "Procedures", loinc("47519-4", "History of Procedures Document"), sct("371525003", "Clinical procedure report")),
    s("hb-dis-medications", "Medication at discharge", loinc("10183-2", "Hospital discharge medications Narrative"), loinc("10160-0", "History of Medication use Narrative")),
    COMMON_ALLERGIES("hb-dis-allergies"),
    s("hb-dis-plan", "Plan of care and follow-up", loinc("18776-5", "Plan of care note"), sct("773130005", "Nursing care plan"), sct("734163000", "Care plan")),
    s("hb-dis-course", "Hospital course", loinc("8648-8", "Hospital course Narrative"), required=False),
]

NURSING_SECTIONS = [
    s("hb-nur-payer", "Payer (insurer and policy)", sct("302147001", "Demographic history detail"), loinc("48768-6", "Payment sources Document")),
    s("hb-nur-sender", "Sending organisation and nurse", sct("185362004", "Referred by nurse")),
    s("hb-nur-receiver", "Receiving organisation", sct("275645009", "Nurse: referred to")),
    s("hb-nur-physician", "Treating physician", sct("405623001", "Assigned practitioner"), loinc("85847-2", "Patient Care team information")),
    s("hb-nur-diagnosis", "Medical diagnosis", sct("52870002", "Referral diagnosis"), loinc("11535-2", "Hospital discharge Dx Narrative"), loinc("29548-5", "Diagnosis Narrative")),
    s("hb-nur-careplan", "Nursing care plan: nursing problems with their interventions", sct("86644006", "Nursing diagnosis"), loinc("18776-5", "Plan of care note")),
    s("hb-nur-alerts", "Alerts ('Let op')", sct("308813009", "Notification status"), loinc("104605-1", "Alert")),
    s("hb-nur-legal", "Legal situation and freedom restriction", sct("303186005", "Legal status of patient"), sct("225317005", "Restriction of freedom of movement")),
    s("hb-nur-skin", "Wounds and skin", sct("106076001", "Skin finding"), loinc("8709-8", "Physical findings of Skin Narrative")),
    s("hb-nur-excretion", "Excretion", sct("106019003", "Elimination pattern finding")),
    s("hb-nur-nutrition", "Nutrition, with a screening score", sct("300893006", "Nutritional finding"), loinc("61144-2", "Diet and nutrition Narrative")),
    s("hb-nur-senses", "Senses (hearing and vision)", sct("106147001", "Sensory nervous system finding")),
    s("hb-nur-mental", "Mental status", sct("36456004", "Mental state finding"), loinc("10190-7", "Mental status Narrative")),
    s("hb-nur-pain", "Pain score", sct("11011000146108", "Score list pain")),
    s("hb-nur-help", "Help from others", sct("365448001", "Social and personal history finding")),
    s("hb-nur-functional", "Functional status (self-care, mobility)", sct("365178001", "Ability to perform personal care activity"), sct("364832000", "Ability to perform gross motor activity"), loinc("47420-5", "Functional status assessment note")),
    COMMON_ALLERGIES("hb-nur-allergies"),
    s("hb-nur-medication", "Medication", loinc("10160-0", "History of Medication use Narrative"), loinc("10183-2", "Hospital discharge medications Narrative"), sct("363788007", "Clinical history/examination observable"), required=False),
    s("hb-nur-advance", "Advance directives and treatment limits", loinc("42348-3", "Advance directives"), sct("108329005", "Social context finding"), required=False),
]

REFERRAL_SECTIONS = [
    s("hb-ref-question", "Question (vraagstelling)", loinc("42349-1", "Reason for referral (narrative)"), sct("3457005", "Patient referral")),
    s("hb-ref-history", "History (anamnese)", loinc("10164-2", "History of Present illness Narrative"), loinc("11348-0", "History of Past illness Narrative")),
    s("hb-ref-results", "Relevant results", loinc("30954-2", "Relevant diagnostic tests/laboratory data Narrative")),
    COMMON_MEDICATION("hb-ref-medication"),
    COMMON_ALLERGIES("hb-ref-allergies"),
    s("hb-ref-problems", "Episode and problem list", loinc("11450-4", "Problem list - Reported"), required=False),
]

ADMISSION_SECTIONS = [
    COMMON_SITUATION("hb-adm-situation"),
    s("hb-adm-problems", "Active problem list", loinc("11450-4", "Problem list - Reported"), sct("417662000", "History of clinical finding in subject")),
    COMMON_ALERTS("hb-adm-alerts"),
    COMMON_MEDICATION("hb-adm-medication"),
    COMMON_ALLERGIES("hb-adm-allergies"),
    COMMON_FUNCTIONAL("hb-adm-functional"),
    COMMON_CONTACTS("hb-adm-contacts"),
    COMMON_ADVANCE("hb-adm-advance"),
    s("hb-adm-history", "Relevant history", loinc("11348-0", "History of Past illness Narrative"), required=False),
]


CARE_REQUEST_SECTIONS = [
    COMMON_SITUATION("hb-care-situation"),
    COMMON_FUNCTIONAL("hb-care-functional"),
    s("hb-care-needs", "Care needs and help from others", loinc("18776-5", "Plan of care note"), sct("365448001", "Social and personal history finding")),
    COMMON_MEDICATION("hb-care-medication"),
    COMMON_ALLERGIES("hb-care-allergies"),
    COMMON_CONTACTS("hb-care-contacts"),
    COMMON_ALERTS("hb-care-alerts", required=False),
    COMMON_ADVANCE("hb-care-advance", required=False),
]


# HL7 IPS 2.0: the three sections an IPS must have (each may say why it is empty, as IPS allows).
PATIENT_SUMMARY_SECTIONS = [
    s("hb-ips-medication", "Medication summary", loinc("10160-0", "History of Medication use Narrative")),
    s("hb-ips-allergies", "Allergies and intolerances", loinc("48765-2", "Allergies and adverse reactions Document")),
    s("hb-ips-problems", "Problem list", loinc("11450-4", "Problem list - Reported")),
]
# An IPS crosses borders: its patient carries whatever identifier the country of origin uses, and IPS
# allows these authors (Composition-uv-ips). Core profiles: the type is checked, the rest is the IPS's.
IPS_SUBJECT = CORE + "Patient"
IPS_AUTHORS = [CORE + t for t in ("Practitioner", "PractitionerRole", "Device", "Patient", "RelatedPerson", "Organization")]


def states_its_reason(key, what):
    """A ServiceRequest says why (both request kinds)."""
    return {"key": key, "severity": "error", "human": f"{what} states its reason (reasonCode or reasonReference)",
            "expression": "reasonCode.exists() or reasonReference.exists()"}


def composition(name, title, description, type_vs, sections, encounter, custodian, subject=PATIENT, authors=AUTHORS):
    elements = [
        el("Composition", constraint=[x.constraint() for x in sections]),
        el("Composition.status", binding=required_binding("composition-status-final-amended")),
        el("Composition.type", binding=required_binding(type_vs)),
        el("Composition.subject", **card(1, "1"), type=ref(subject)),
    ]
    if encounter:
        elements.append(el("Composition.encounter", **card(*encounter[0]), type=ref(encounter[1])))
    elements.append(el("Composition.author", **card(1, "*"), type=ref(*authors)))
    if custodian:
        elements.append(el("Composition.custodian", **card(1, "1"), type=ref(ORGANIZATION)))
    elements.append(el("Composition.section", **card(1, "*"), constraint=[SECTION_CONTENT]))
    elements.append(el("Composition.section.section", constraint=[SECTION_CONTENT]))
    return structure(name, title, description, "Composition", elements)


def structure(name, title, description, resource_type, elements):
    return {
        **metadata("StructureDefinition", name, sd_url(name), title, description),
        "fhirVersion": "4.0.1",
        "kind": "resource",
        "abstract": False,
        "type": resource_type,
        "baseDefinition": CORE + resource_type,
        "derivation": "constraint",
        "differential": {"element": elements},
    }


def describe_sections(sections):
    req = "; ".join(f"{x.title} ({x.shown()})" for x in sections if x.required)
    rec = "; ".join(f"{x.title} ({x.shown()})" for x in sections if not x.required)
    out = f"Required sections (at the top level or one level down, each with entries, sub-sections, text or an emptyReason): {req}."
    if rec:
        out += f" Recommended (a warning when absent): {rec}."
    return out


STRUCTURES = [
    composition(
        "discharge-summary-composition", "Discharge summary composition",
        "The focus of a discharge-summary: the hospital's discharge letter to the organisation that continues "
        "care (typically the GP). Follows the HL7 Europe hospital discharge report and HL7 IPS 2.0 section "
        "codes (LOINC), with the Dutch SNOMED alternatives (zib2020). Type LOINC 18842-5 or SNOMED 373942005. "
        "The letter itself may travel as a DocumentReference (PDF or text) in any section; its attachment is "
        "checked. " + describe_sections(DISCHARGE_SECTIONS),
        "discharge-summary-type", DISCHARGE_SECTIONS, ((1, "1"), ENCOUNTER), True),
    composition(
        "nursing-handover-composition", "Nursing handover composition",
        "The focus of a nursing-handover, following Nictiz eOverdracht 4.0 (Overdrachtsbericht volwassenen) "
        "and its zib2020 building blocks: type SNOMED 371535009 (or LOINC 34745-0 / 28651-8 for Belgian "
        "senders), the eOverdracht SNOMED sections (or their LOINC equivalents where one exists), the "
        "transfer date as the end of the stay's Encounter period, the sending organisation as custodian. "
        "Author a Practitioner, a PractitionerRole, the Organization or the sending system (Device). No "
        "procedure, discharge medication or medication administration section is required. "
        + describe_sections(NURSING_SECTIONS),
        "nursing-handover-type", NURSING_SECTIONS, ((1, "1"), TRANSFER_ENCOUNTER), True),
    composition(
        "referral-note-composition", "Referral letter composition",
        "The letter behind a referral, following the NHG HASP referral letter (huisarts-specialist "
        "verwijsbrief: vraagstelling, anamnese, relevante uitslagen, medicatie, overgevoeligheden, "
        "episodelijst) with LOINC section codes shared with HL7 Belgium. Type LOINC 57133-1 or SNOMED "
        "721927009. " + describe_sections(REFERRAL_SECTIONS),
        "referral-note-type", REFERRAL_SECTIONS, ((0, "1"), ENCOUNTER), False),
    composition(
        "admission-handover-composition", "Admission handover composition",
        "The focus of an admission-handover: home care, a nursing home or the GP informs the hospital about "
        "a patient being admitted, with the HL7 IPS 2.0 sections a hospital needs at the door (active "
        "problems, alerts, medication, allergies) plus functional status, contact persons and advance "
        "directives (eOverdracht and zib2020 SNOMED codes accepted). Type LOINC 18761-7 or SNOMED 371535009. "
        + describe_sections(ADMISSION_SECTIONS),
        "admission-handover-type", ADMISSION_SECTIONS, ((0, "1"), ENCOUNTER), False),
    composition(
        "care-request-composition", "Care request letter composition",
        "What a triage point needs to place a patient (eOverdracht 'aanmeldbericht' content, zib2020 and HL7 "
        "IPS codes): the current situation, functional status, care needs and help from others, medication, "
        "allergies and contact persons. Type LOINC 57133-1 or SNOMED 371535009. "
        + describe_sections(CARE_REQUEST_SECTIONS),
        "care-request-type", CARE_REQUEST_SECTIONS, ((0, "1"), ENCOUNTER), False),
    composition(
        "patient-summary-composition", "Patient summary composition",
        "The focus of a patient-summary: an HL7 International Patient Summary 2.0 (type LOINC 60591-5), "
        "usually posted as a FHIR document (POST /fhir/Bundle). Its required sections are the IPS's: "
        "medication summary, allergies and intolerances, problem list; a subject Patient (identified as "
        "its country does: the broker's national-identifier rule does not apply) and an author of a type "
        "IPS allows. " + describe_sections(PATIENT_SUMMARY_SECTIONS),
        "patient-summary-type", PATIENT_SUMMARY_SECTIONS, None, False, IPS_SUBJECT, IPS_AUTHORS),
    structure(
        "care-request-servicerequest", "Care request",
        "The focus of a care-request: a request for a care type (nursing home, short stay (ELV), palliative care, "
        "geriatric rehabilitation, respite or home care; Belgian short stay and residential care) sent to a "
        "regional triage point or a provider, as a proposal or an order, with its urgency, the reason, the "
        "requester and the letter the placement needs as supportingInfo. The requested start is recommended.",
        "ServiceRequest",
        [
            el("ServiceRequest", constraint=[
                states_its_reason("hb-care-1", "A care request"),
                {"key": "hb-care-2", "severity": "warning",
                 "human": "A care request says from when the care is needed (occurrence)",
                 "expression": "occurrence.exists()"}]),
            el("ServiceRequest.intent", binding=required_binding("referral-intent")),
            el("ServiceRequest.priority", **card(1, "1"), binding=required_binding("referral-priority")),
            el("ServiceRequest.code", **card(1, "1"), binding=required_binding("care-type")),
            el("ServiceRequest.subject", **card(1, "1"), type=ref(PATIENT)),
            el("ServiceRequest.requester", **card(1, "1"), type=ref(PRACTITIONER, PRACTITIONER_ROLE, ORGANIZATION)),
            el("ServiceRequest.supportingInfo", **card(1, "*"), type=ref(sd_url("care-request-composition"))),
        ]),
    structure(
        "referral-servicerequest", "Referral service request",
        "The focus of a referral (NHG HASP; HL7 Belgium referral): a ServiceRequest with intent order (GP to "
        "specialist) or proposal (to a regional triage point), a referral procedure code (SNOMED), the "
        "requested specialty (performerType), the reason, priority, the referring practitioner (or their "
        "role) and the referral letter as supportingInfo.",
        "ServiceRequest",
        [
            el("ServiceRequest", constraint=[states_its_reason("hb-ref-1", "A referral")]),
            el("ServiceRequest.intent", binding=required_binding("referral-intent")),
            el("ServiceRequest.priority", **card(1, "1"), binding=required_binding("referral-priority")),
            el("ServiceRequest.code", **card(1, "1"), binding=required_binding("referral-code")),
            el("ServiceRequest.subject", **card(1, "1"), type=ref(PATIENT)),
            el("ServiceRequest.requester", **card(1, "1"), type=ref(PRACTITIONER, PRACTITIONER_ROLE)),
            el("ServiceRequest.performerType", **card(1, "1")),
            el("ServiceRequest.supportingInfo", **card(1, "*"), type=ref(sd_url("referral-note-composition"))),
        ]),
    structure(
        "handover-patient", "Handover patient",
        "The patient of a handover: identified by a national number (Dutch BSN, checked with the 11-test; "
        "Belgian INSZ/NISS or BIS, checked modulo 97), named, with gender and birth date (zib2020 Patient, "
        "HL7 Belgium core BePatient).",
        "Patient",
        [
            el("Patient", constraint=[{
                "key": "hb-pat-1", "severity": "error",
                "human": "The patient has a national identifier: a Dutch BSN or a Belgian INSZ/NISS (SSIN)",
                "expression": "identifier.where(system='http://fhir.nl/fhir/NamingSystem/bsn').exists() or "
                              "identifier.where(system='https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin').exists()"}]),
            el("Patient.identifier", **card(1, "*")),
            el("Patient.name", **card(1, "*")),
            el("Patient.gender", **card(1, "1")),
            el("Patient.birthDate", **card(1, "1")),
        ]),
    structure(
        "handover-practitioner", "Handover practitioner",
        "A practitioner named in a handover: identified (UZI or AGB in the Netherlands, NIHDI/RIZIV in "
        "Belgium) and named.",
        "Practitioner",
        [el("Practitioner"), el("Practitioner.identifier", **card(1, "*")), el("Practitioner.name", **card(1, "*"))]),
    structure(
        "handover-practitionerrole", "Handover practitioner role",
        "A practitioner in a role at an organisation (zib2020 HealthProfessional as PractitionerRole, the "
        "author eOverdracht uses): the practitioner and the organisation are named.",
        "PractitionerRole",
        [el("PractitionerRole"),
         el("PractitionerRole.practitioner", **card(1, "1"), type=ref(PRACTITIONER)),
         el("PractitionerRole.organization", **card(1, "1"), type=ref(ORGANIZATION))]),
    structure(
        "handover-organization", "Handover organisation",
        "A care organisation in a handover: identified (URA or AGB in the Netherlands, NIHDI/RIZIV or CBE/KBO "
        "in Belgium) and named (zib2020 HealthcareProvider, HL7 Belgium core BeOrganization).",
        "Organization",
        [el("Organization"), el("Organization.identifier", **card(1, "*")), el("Organization.name", **card(1, "1"))]),
    structure(
        "handover-encounter", "Handover encounter",
        "The stay or contact a handover is about: its period has a start, and the organisation that provides "
        "it is named.",
        "Encounter",
        [el("Encounter"),
         el("Encounter.period", **card(1, "1"), constraint=[{
             "key": "hb-enc-1", "severity": "error", "human": "The encounter period has a start",
             "expression": "start.exists()"}]),
         el("Encounter.serviceProvider", **card(1, "1"))]),
    structure(
        "handover-transfer-encounter", "Handover transfer encounter",
        "The stay a nursing handover ends: its period has a start and an end, the end being the transfer "
        "date (eOverdracht 'datum overplaatsing'), and the organisation that provided it is named.",
        "Encounter",
        [el("Encounter"),
         el("Encounter.period", **card(1, "1"), constraint=[{
             "key": "hb-enc-2", "severity": "error",
             "human": "The stay's period has a start and an end (the transfer date)",
             "expression": "start.exists() and end.exists()"}]),
         el("Encounter.serviceProvider", **card(1, "1"))]),
]

KINDS = [
    ("discharge-summary", "DischargeSummary", "Discharge summary handover", "Discharge summary",
     "A hospital hands the patient over to the organisation that continues care after an inpatient stay, "
     "typically the general practitioner (HL7 Europe hospital discharge report, HL7 IPS 2.0 sections; Dutch "
     "zib2020 codes accepted). The focus is a discharge summary Composition with the stay, author and "
     "custodian, diagnoses, procedures, medication at discharge, allergies and the follow-up plan; the "
     "letter may be carried as a PDF or text DocumentReference.",
     "Continuity of care after hospital discharge: the receiver learns what happened during the stay and "
     "what it has to do next.", "Composition", "discharge-summary-composition"),
    ("nursing-handover", "NursingHandover", "Nursing handover", "Nursing handover",
     "A hospital, nursing home or home-care organisation hands nursing care over (Nictiz eOverdracht 4.0 "
     "Overdrachtsbericht volwassenen, zib2020; the same content with LOINC section codes for Belgian "
     "senders). The focus is a nursing handover Composition.",
     "Continuity of nursing care when a patient moves between hospital, home care, a nursing home or "
     "rehabilitation.", "Composition", "nursing-handover-composition"),
    ("referral", "Referral", "Referral", "Referral",
     "A practitioner, typically a GP, refers a patient to a specialist, hospital or regional triage point "
     "(NHG HASP; HL7 Belgium referral). The focus is a ServiceRequest (intent order, or proposal towards a "
     "triage point) with the referral code, requested specialty, reason, priority and referrer, supported "
     "by the referral letter Composition with the question (vraagstelling).",
     "Request care with the question and the information needed to triage and prepare the first contact.",
     "ServiceRequest", "referral-servicerequest"),
    ("admission-handover", "AdmissionHandover", "Admission handover", "Admission handover",
     "Home care, a nursing home or the GP informs the hospital about a patient being admitted (HL7 IPS 2.0 "
     "sections; eOverdracht and zib2020 codes accepted). The focus is a Composition with the current "
     "situation, active problems, alerts, medication, allergies, functional status, contact persons and "
     "advance directives.",
     "Give the admitting hospital an accurate picture of the patient's situation, risks, medication and "
     "wishes at the moment of admission.", "Composition", "admission-handover-composition"),
    ("care-request", "CareRequest", "Care request", "Care request",
     "A GP, district nurse, case manager or hospital transfer desk asks for a care type (nursing home, short "
     "stay, palliative care, geriatric rehabilitation, respite, home care) for a patient, usually through the "
     "regional triage point, which places the patient with a provider. The focus is a ServiceRequest with the "
     "care type, urgency and reason, supported by a letter with what the placement needs.",
     "Find the right place of care in the region, in time, with the information the provider needs.",
     "ServiceRequest", "care-request-servicerequest"),
    ("patient-summary", "PatientSummary", "Patient summary", "Patient summary",
     "An organisation sends a patient's International Patient Summary (HL7 IPS 2.0) to the organisation "
     "that continues or shares care, typically the GP. Usually posted as a FHIR document and wrapped by "
     "the broker; the focus is the IPS Composition with the medication summary, allergies and problem list.",
     "Give the next care provider the patient's essential health data in the internationally agreed form.",
     "Composition", "patient-summary-composition"),
]


def message_definition(code, name, title, display, description, purpose, focus, profile):
    return {
        **metadata("MessageDefinition", code, f"{BASE}/MessageDefinition/{code}", title, description),
        "name": name,
        "purpose": purpose,
        "eventCoding": {"system": f"{BASE}/CodeSystem/handover-event", "code": code, "display": display},
        "category": "notification",
        "focus": [{"code": focus, "profile": sd_url(profile), "min": 1, "max": "1"}],
        "responseRequired": "always",
        "allowedResponse": [{
            "message": f"{BASE}/MessageDefinition/{code}-response",
            "situation": "The receiving organisation answers every handover with a business response: "
                         "response code ok when it accepts the handover, or fatal-error with an "
                         "OperationOutcome stating why it rejects it."}],
    }


def value_set(name, title, description, codes):
    by_system = {}
    for system, code, display in codes:
        by_system.setdefault(system, []).append({"code": code, "display": display})
    return {
        **metadata("ValueSet", name, vs_url(name), title, description),
        "compose": {"include": [{"system": sys_, "concept": c} for sys_, c in by_system.items()]},
    }


# --- narrative ------------------------------------------------------------------------------------

def esc(text):
    return html.escape(str(text), quote=False)


def rule_text(e):
    parts = []
    if "sliceName" in e:
        parts.append(f"slice {e['sliceName']}")
    if "min" in e or "max" in e:
        parts.append(f"{e.get('min', '')}..{e.get('max', '')}")
    for t in e.get("type", []):
        if t.get("targetProfile"):
            parts.append("target " + ", ".join(t["targetProfile"]))
    if "binding" in e:
        parts.append(f"binding {e['binding']['strength']} {e['binding']['valueSet']}")
    for c in e.get("constraint", []):
        parts.append(f"{c['key']} ({c['severity']}): {c['human']} [{c['expression']}]")
    return "; ".join(parts)


def narrate(resource):
    intro = f"<p>{esc(resource.get('title', ''))}: {esc(resource['description'])}</p>"
    if resource["resourceType"] == "StructureDefinition":
        rows = "".join(f"<tr><td>{esc(e['id'])}</td><td>{esc(rule_text(e))}</td></tr>"
                       for e in resource["differential"]["element"] if rule_text(e))
        body = f"<table><thead><tr><th>Element</th><th>Rule</th></tr></thead><tbody>{rows}</tbody></table>"
    elif resource["resourceType"] == "CodeSystem":
        rows = "".join(f"<tr><td>{esc(c['code'])}</td><td>{esc(c['display'])}</td>"
                       + "".join(f"<td>{esc(d['value'])}</td>" for d in c["designation"]) + "</tr>"
                       for c in resource["concept"])
        body = f"<table><thead><tr><th>Code</th><th>English</th><th>Nederlands</th><th>Français</th></tr></thead><tbody>{rows}</tbody></table>"
    elif resource["resourceType"] == "ValueSet":
        rows = "".join(f"<tr><td>{esc(i['system'])}</td><td>{esc(c['code'])}</td><td>{esc(c['display'])}</td></tr>"
                       for i in resource["compose"]["include"] for c in i["concept"])
        body = f"<table><thead><tr><th>System</th><th>Code</th><th>Display</th></tr></thead><tbody>{rows}</tbody></table>"
    else:
        focus = resource["focus"][0]
        body = f"<p>Event {esc(resource['eventCoding']['code'])}; focus {esc(focus['code'])} conforming to {esc(focus['profile'])}.</p>"
    text = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{intro}{body}</div>'}
    ordered = {"resourceType": resource["resourceType"], "id": resource["id"], "text": text}
    ordered.update({k: v for k, v in resource.items() if k not in ordered})
    return ordered


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "profiles"
    resources = [message_definition(*k) for k in KINDS] + STRUCTURES
    resources += [value_set(name, *rest) for name, rest in VALUE_SETS.items()]
    resources.append(care_type_code_system())
    for resource in resources:
        path = os.path.join(out, f"{resource['resourceType']}-{resource['id']}.json")
        with open(path, "w") as f:
            json.dump(narrate(resource), f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(path)


if __name__ == "__main__":
    main()
