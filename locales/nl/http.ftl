# Wat een verzoek te horen krijgt aan de HTTP-kant: inloggegevens, routes, mediatypes, limieten, en de
# weigeringen van postbus, Tasks, doorsturen en adresboek (nl). Codes, mediatypes en id's blijven zoals ze zijn.

auth-missing = geen bearer-token: stuur `Authorization: Bearer <token>`
auth-malformed = de Authorization-header is niet `Bearer <token>`
auth-not-ascii = de Authorization-header is geen ASCII
auth-unknown = het token is onbekend of ingetrokken
auth-expired = het token is verlopen
auth-unknown-organization = geen organisatie in het adresboek heeft identificatie { $identifier }
auth-regional-not-auditor = een regionale scope is alleen voor auditortokens, niet voor rol { $role }
auth-lifetime = de geldigheidsduur van een token is minstens één seconde
auth-random = kan geen token aanmaken: { $detail }
auth-certificate-not-registered = certificaat niet geregistreerd voor een organisatie
auth-certificate-ambiguous = het clientcertificaat noemt meer dan één organisatie uit het adresboek en identificeert dus geen enkele
auth-certificate-refused = het clientcertificaat is geweigerd: { $reason ->
    [expired] het certificaat is verlopen
    [not-valid-yet] het certificaat is nog niet geldig
    [revoked] het certificaat is ingetrokken
    [unknown-issuer] het certificaat is niet uitgegeven door een CA die de broker voor clientcertificaten vertrouwt
    [not-for-client-auth] het certificaat is niet bedoeld voor TLS-clientauthenticatie (extended key usage)
    [invalid] het certificaat is niet geldig: { $detail }
   *[other] { $detail }
}
auth-certificate-disagrees = het bearer-token en het clientcertificaat spreken voor verschillende organisaties
http-method-not-allowed = deze methode is op dit pad niet toegestaan
http-no-such-endpoint = dit endpoint bestaat niet
http-too-large = de body van het verzoek is groter dan de limiet van { $limit } bytes
http-unsupported-media-type = Content-Type { $kind ->
    [none] (geen)
    [not-ascii] (geen ASCII)
   *[other] { $found }
} wordt niet geaccepteerd; stuur application/fhir+json of application/fhir+xml (of application/json, application/xml), charset utf-8
http-not-acceptable = de broker antwoordt in application/fhir+json of application/fhir+xml, niet in { $kind ->
    [not-ascii] (een Accept-header die geen ASCII is)
   *[other] { $asked }
}
http-timeout = de body van het verzoek kwam niet binnen de toegestane tijd aan; er is niets opgeslagen
http-unavailable = de broker kan zijn database niet bereiken; er is niets opgeslagen, probeer het later opnieuw
http-internal = interne fout; er is niets opgeslagen. Het log van de broker bevat de details
http-over-rate = deze organisatie zit boven haar aantal toegestane verzoeken; probeer het opnieuw na de opgegeven tijd
http-bad-parameter = { $name }: { $problem }
http-body-not-json = de body is geen JSON: { $detail }
http-no-receipt = geen ontvangstbevestiging met deze tracking-id voor deze organisatie
forward-not-triage-point = alleen een organisatie die in het adresboek als regionaal triagepunt is aangemerkt, stuurt berichten door
forward-not-found = er is geen bericht met deze id aan deze organisatie afgeleverd
forward-purged = de inhoud van het bericht is na de bewaartermijn verwijderd; het kan niet worden doorgestuurd
forward-not-a-message = kan niet doorsturen: { $detail }
mailbox-not-found = dit bericht staat niet in deze postbus
mailbox-expired = het bericht is verlopen voordat het werd bevestigd; de verzender heeft gehoord dat het niet is afgeleverd
mailbox-purged = het bericht is zo lang geleden afgeleverd of beëindigd dat de inhoud is verwijderd (bewaartermijn); de geschiedenis staat nog in het logboek
mailbox-too-many-waiting = deze organisatie houdt al { $max } long-polls op haar postbus open; wacht tot er een eindigt
task-not-found = geen Task of overdracht met deze id voor deze organisatie
task-no-document = deze overdracht bevat geen Composition, dus er is geen document; lees het bericht
task-illegal-move = een Task met status { $from } kan niet { $to } worden; de Task is ongewijzigd
task-ended = deze aflevering is { $state }: de Task kan niet meer veranderen (de verzender is op de hoogte gebracht)
task-version-conflict = de Task staat op versie { $current }: lees hem opnieuw en pas de wijziging toe op die versie
task-precondition-failed = If-Match noemt niet de huidige versie van de Task ({ $current })
task-purged = de inhoud van de overdracht is na de bewaartermijn verwijderd; de geschiedenis staat nog in het logboek
directory-not-found = geen organisatie met id { $id }
directory-in-use = organisatie { $id } heeft berichten of afleveringen; ze kan niet worden verwijderd
http-body-unreadable = de body van het verzoek kon niet worden gelezen: { $detail }
http-wrong-role = hiervoor is een token met rol { $count ->
    [1] { $first }
    [2] { $first } of { $second }
   *[other] { $first }, { $second } of { $third }
} nodig; dit token heeft rol { $has }
http-validate-complete = het bericht is volledig: geen problemen gevonden
mailbox-acknowledged = bevestigd: het bericht is afgeleverd en heeft de postbus verlaten
mailbox-already-acknowledged = al bevestigd: er is niets veranderd
task-if-match-not-ascii = If-Match is geen ASCII
xml-not-fhir = geen FHIR XML-resource: { $detail }
