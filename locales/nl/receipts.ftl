# De teksten van de ontvangstbevestigingen die een verzender over zijn overdrachten krijgt, en van een intrekking (nl).
# Codes (afleverstatussen, prioriteiten), identificaties en tracking-id's blijven zoals ze zijn.

receipt-about = Ontvanger { $receiver }; tracking-id { $tracking }.
withdrawal-about = Tracking-id { $tracking }; MessageHeader.id { $header }.
receipt-delivered = Afgeleverd bij het systeem van de ontvanger.
receipt-acknowledged-from-mailbox = Door de ontvanger uit zijn postbus opgehaald en bevestigd.
receipt-fetched = Door de ontvanger bij de broker opgehaald (Notified Pull).
receipt-task-set = De ontvanger heeft het bericht: hij heeft zijn Task op { $status } gezet (Notified Pull).
receipt-purged = de inhoud is niet meer opgeslagen
receipt-xml-unwritable = Het bericht kon niet als FHIR XML worden geschreven, het formaat dat de ontvanger afneemt.
receipt-refused-permanently = Het systeem van de ontvanger heeft het bericht definitief geweigerd (HTTP { $reason }).
receipt-expired = Het bericht is niet binnen zijn geldigheidsduur afgeleverd en wordt niet meer afgeleverd.
receipt-accepted = De ontvanger heeft het bericht geaccepteerd.
receipt-rejected = De ontvanger heeft het bericht afgewezen; de redenen volgen.
receipt-forwarded = Door het triagepunt doorgestuurd naar { $names }.
receipt-forwarded-first-accept = Door het triagepunt doorgestuurd naar { $count } kandidaten ({ $names }); de eerste die accepteert, beantwoordt dit verzoek.
receipt-placed = Geaccepteerd door { $placed }, naar wie het triagepunt het bericht heeft doorgestuurd (doorgestuurd met tracking-id { $forwarded }).
receipt-declined-via = Afgewezen door { $by }, naar wie het triagepunt het bericht heeft doorgestuurd (doorgestuurd met tracking-id { $forwarded }); de redenen volgen.
receipt-unplaced-declined = De aflevering aan deze kandidaat is geëindigd met { $state }. Alle ontvangers van deze doorsturing hebben nu afgewezen of waren onbereikbaar: niemand is geplaatst, en het oorspronkelijke verzoek (tracking-id { $original }) wordt als afgewezen beantwoord.
receipt-unplaced-back = De aflevering aan deze kandidaat is geëindigd met { $state }. Alle ontvangers van deze doorsturing hebben nu afgewezen of waren onbereikbaar: niemand is geplaatst, en het verzoek (tracking-id { $original }) ligt weer bij het triagepunt.
receipt-withdrawn = Ingetrokken: de patiënt is bij een andere zorgaanbieder geplaatst, dus dit verzoek hoeft niet meer beantwoord te worden.
receipt-overdue = De ontvanger { $receiver } heeft dit verzoek (prioriteit { $priority }) niet beantwoord binnen zijn reactietermijn van { $within } (geteld in zijn openingstijden), die eindigde om { $due }. Tracking-id { $tracking }.
escalation-reason = Door de broker geëscaleerd: dit verzoek (prioriteit { $priority }) is niet binnen { $within } beantwoord (geteld in de openingstijden van de ontvanger).
receipt-escalated = Niet op tijd beantwoord door { $receiver }: door de broker geëscaleerd naar { $target }. Dit verzoek (prioriteit { $priority }) is niet binnen { $within } beantwoord (geteld in de openingstijden van de ontvanger).
