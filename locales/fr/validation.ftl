# What the validator says about a handover's content: base FHIR R4 structure, attachments, identifiers (fr).

validation-placeholder = -
