# What a patient portal shows a patient about their handovers (GET /fhir/AuditEvent), fr.
patient-sent = { $sender } a envoyé le { $date } un(e) { $kind } vous concernant à { $receiver }.
patient-on-its-way = Il est en cours d'acheminement.
patient-arrived = Il est arrivé le { $changed }.
patient-accepted = Il est arrivé, et { $receiver } l'a accepté le { $changed }.
patient-declined = Il est arrivé, mais { $receiver } n'a pas pu prendre le relais ; { $sender } en a été informé.
patient-passed-on = Il a été transmis à un prestataire de soins qui peut prendre le relais.
patient-not-delivered = Il n'a pas pu être livré ; { $sender } en a été informé.
kind-discharge-summary = lettre de sortie
kind-nursing-handover = transfert infirmier
kind-referral = demande d'avis (renvoi)
kind-admission-handover = transfert à l'admission
kind-care-request = demande de prise en charge
kind-patient-summary = résumé du patient
