# What a patient portal shows a patient about their handovers (GET /fhir/AuditEvent), nl.
patient-sent = { $sender } heeft op { $date } een { $kind } over u gestuurd naar { $receiver }.
patient-on-its-way = Die is onderweg.
patient-arrived = Die is aangekomen op { $changed }.
patient-accepted = Die is aangekomen, en { $receiver } heeft die op { $changed } geaccepteerd.
patient-declined = Die is aangekomen, maar { $receiver } kon de zorg niet overnemen; { $sender } is op de hoogte gebracht.
patient-passed-on = Die is doorgestuurd naar een zorgaanbieder die de zorg kan overnemen.
patient-not-delivered = Die kon niet worden afgeleverd; { $sender } is op de hoogte gebracht.
kind-discharge-summary = ontslagbrief
kind-nursing-handover = verpleegkundige overdracht
kind-referral = verwijzing
kind-admission-handover = opnameoverdracht
kind-care-request = zorgaanvraag
kind-patient-summary = patiëntsamenvatting
