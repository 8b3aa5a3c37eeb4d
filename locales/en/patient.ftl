# What a patient portal shows a patient about their handovers (GET /fhir/AuditEvent), en.
patient-sent = { $sender } sent a { $kind } about you to { $receiver } on { $date }.
patient-on-its-way = It is on its way.
patient-arrived = It arrived on { $changed }.
patient-accepted = It arrived, and { $receiver } accepted it on { $changed }.
patient-declined = It arrived, and { $receiver } could not take it on; { $sender } has been told.
patient-passed-on = It was passed on to a care provider who can take it on.
patient-not-delivered = It could not be delivered; { $sender } has been told.
kind-discharge-summary = discharge summary
kind-nursing-handover = nursing handover
kind-referral = referral
kind-admission-handover = admission handover
kind-care-request = request for care
kind-patient-summary = patient summary
