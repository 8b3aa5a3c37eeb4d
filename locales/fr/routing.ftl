# Ce que dit le broker quand un transfert ne peut pas être routé, transféré, encapsulé ou rapporté (fr).
# Les noms d'éléments, codes, identifiants d'organisations et identifiants de suivi restent tels quels.

## Routage : l'expéditeur et les destinations du MessageHeader, confrontés à l'annuaire.

routing-no-sender = MessageHeader.sender doit identifier l'organisation expéditrice (Reference.identifier)
routing-sender-several = l'expéditeur { $identifiers ->
        [0] une référence sans identifiant d'organisation
       *[other] { $party }
    } désigne plusieurs organisations ({ $organisations }) ; l'expéditeur d'un message est une seule organisation, celle à laquelle appartient ce jeton ({ $caller })
routing-sender-other = l'expéditeur { $identifiers ->
        [0] une référence sans identifiant d'organisation
       *[other] { $party }
    } est l'organisation { $organisation } ; ce jeton appartient à { $caller }
routing-sender-unknown = l'expéditeur { $identifiers ->
        [0] une référence sans identifiant d'organisation
       *[other] { $party }
    } ne figure pas dans l'annuaire ; un jeton ne permet d'envoyer qu'au nom de sa propre organisation
routing-no-destination = MessageHeader.destination doit désigner au moins une organisation destinataire
routing-no-receiver = destination.receiver doit identifier l'organisation destinataire
routing-unknown-receiver = le destinataire { $identifiers ->
        [0] une référence sans identifiant d'organisation
       *[other] { $party }
    } ne figure pas dans l'annuaire
routing-receiver-several = le destinataire { $identifiers ->
        [0] une référence sans identifiant d'organisation
       *[other] { $party }
    } désigne plusieurs organisations ({ $organisations }) ; une destination est une seule organisation
routing-event-not-accepted = le destinataire { $receiver } n'accepte pas les transferts de type { $event }
routing-endpoint-not-registered = destination.endpoint n'est pas l'endpoint enregistré pour le destinataire { $receiver } ; le broker ne livre qu'aux endpoints enregistrés

## Documents : POST /fhir/Bundle, ses destinataires et la forme du Bundle document lui-même.

document-receiver-not-token = un destinataire est un identifiant d'organisation sous forme de token FHIR, system|value (p. ex. http://fhir.nl/fhir/NamingSystem/ura|90000012), le | encodé dans l'URL en %7C
document-unknown-parameter = paramètre inconnu { $name } : POST /fhir/Bundle accepte receiver (répétable) et event
document-no-receiver = désignez au moins un destinataire : ?receiver=system|value (un identifiant d'organisation connu de l'annuaire)
document-too-many-receivers = { $count } destinataires sont désignés ; la limite est de { $limit }
document-unknown-sender = l'organisation { $organisation } ne figure pas dans l'annuaire ; elle ne peut pas envoyer
document-unknown-receiver = le destinataire { $receiver } ne figure pas dans l'annuaire
document-event-not-fitting = event n'est pas un type de transfert auquel correspond le Composition.type de ce document ({ $types }) ; il correspond à : { $count ->
        [0] aucun
       *[other] { $kinds }
    }
document-type-unknown = Composition.type { $types } ne correspond à aucun type de transfert de ce broker ; acceptés : { $accepted }
document-type-several = Composition.type { $types } correspond à plusieurs types de transfert ({ $kinds }) ; choisissez-en un avec ?event=
document-identifier-reused = un document avec ce Bundle.identifier a déjà été envoyé par cette organisation à ces destinataires avec un autre contenu ; un document modifié nécessite un nouveau Bundle.identifier
document-too-large = le document dépasse la limite de { $limit } octets
document-not-object = un objet JSON (un Bundle FHIR) était attendu
document-member-twice = le Bundle contient deux fois le membre { $member }
document-not-bundle = une ressource FHIR de type Bundle était attendue
document-no-entries = un Bundle document nécessite des entries, la première étant une Composition
document-too-many-entries = le document a { $count } entries ; la limite est de { $max } (la limite de { $limit } d'un message, moins le MessageHeader que le broker ajoute)
document-no-composition = la première entry d'un Bundle document doit être une Composition
document-no-identifier = un document a un Bundle.identifier avec system et value (FHIR bdl-9) : c'est l'identité du document, qui permet de reconnaître un renvoi
document-no-timestamp = un document a un Bundle.timestamp (FHIR bdl-10)
document-no-type = Composition.type nécessite un coding (system et code) : il indique de quel type de transfert il s'agit
document-no-focus = la Composition nécessite un fullUrl (ou un id) auquel le message puisse faire référence
document-entries-undelimited = les entries du document ne peuvent pas être délimitées
document-type-message = Bundle.type est message : envoyez les messages à /fhir/$process-message ; POST /fhir/Bundle accepte un Bundle de type document
document-type-other = Bundle.type est { $type } ; POST /fhir/Bundle accepte un Bundle de type document
document-type-missing = Bundle.type est absent ; document était attendu

## Transfert par un point de triage : les Parameters de $forward et le message transféré.

forward-body-not-json = le corps n'est pas du JSON
forward-not-parameters = le corps doit être une ressource FHIR Parameters
forward-too-many-parameters = trop de paramètres
forward-receiver-not-identifier = un destinataire est un valueIdentifier avec system et value
forward-receiver-twice = ce destinataire est désigné deux fois
forward-bad-mode = mode vaut all ou first-accept
forward-bad-note = une note est une valueString non vide
forward-note-too-long = la note compte plus de { $max } caractères
forward-bad-tracking-id = tracking-id est la valueId d'un identifiant de suivi
forward-parameter-twice = au plus un { $name }
forward-unknown-parameter = paramètre inconnu : receiver, mode, note et tracking-id sont connus
forward-receiver-count = désignez de 1 à { $max } destinataires
forward-unknown-receiver = aucune organisation de l'annuaire n'a cet identifiant
forward-receiver-not-other = un transfert désigne d'autres organisations, chacune une seule fois
forward-tracking-id-on-mailbox = tracking-id est destiné à POST /fhir/$forward ; cette route désigne l'élément de la boîte aux lettres
forward-no-tracking-id = désignez le message à transférer : tracking-id
forward-already-done = ce message a déjà le statut { $state } ; il ne peut plus être transféré
forward-other-forwarding = ce message a été transféré sous { $tracking } à d'autres destinataires ou dans un autre mode, et ce transfert est { $state ->
        [placed] placé
       *[open] toujours ouvert
    }

## Notified Pull : la mise à jour d'une Task par un destinataire.

notified-body-not-json = le corps n'est pas du JSON : { $detail }
notified-not-object = le corps n'est pas un objet JSON
notified-not-task = le corps n'est pas une Task
notified-other-id = Task.id doit être l'id figurant dans l'URL
notified-unchangeable = seuls status, businessStatus et statusReason d'une Task peuvent changer
notified-no-status = une Task nécessite un status
notified-status-not-settable = un destinataire indique received, accepted, in-progress, completed, rejected ou cancelled
notified-not-concept = un CodeableConcept était attendu
notified-bad-coding = coding doit contenir des Codings de system, code et display
notified-concept-members = un CodeableConcept ne contient que coding et text
notified-concept-too-long = plus long que { $max } octets
notified-patch-not-array = un JSON Patch est un tableau d'opérations
notified-patch-size = un JSON Patch contient de 1 à { $max } opérations
notified-patch-test-failed = le test de { $path } a échoué
notified-patch-no-value = l'opération n'a pas de value
notified-patch-replace-missing = replace d'un élément que la Task n'a pas
notified-patch-remove-missing = remove d'un élément que la Task n'a pas
notified-patch-path = le PATCH d'une Task ne peut modifier que /status, /businessStatus et /statusReason
notified-patch-bad-op = ce n'est pas une opération JSON Patch

## Réception : l'enregistrement d'un message, et la réponse d'un destinataire à celui-ci.

ingest-header-id-purged = MessageHeader.id { $header } a déjà été utilisé par cet expéditeur pour un message dont le contenu a depuis été supprimé (durée de conservation), de sorte qu'un renvoi ne peut pas être reconnu comme identique ; envoyez-le avec un nouveau MessageHeader.id s'il est encore nécessaire
ingest-header-id-reused = MessageHeader.id { $header } a déjà été utilisé par cet expéditeur pour un message au contenu différent ; un message modifié nécessite un nouveau MessageHeader.id
ingest-original-moved = le message a entre-temps été transféré, a reçu une réponse ou a expiré ; il n'appartient plus à ce point de triage de le transférer (voir ses accusés de réception)
ingest-bundle-id-reused = Bundle.id a déjà été utilisé par cet expéditeur pour un message avec un autre MessageHeader.id
ingest-xml-unwritable = le message ne peut pas être écrit en FHIR XML pour un destinataire qui accepte le XML : { $problem }
ingest-response-code = MessageHeader.response.code doit valoir ok, transient-error ou fatal-error
ingest-placed-elsewhere = le patient a été placé ailleurs : un autre candidat a accepté cette demande en premier, et elle a été retirée à cette organisation
ingest-answered-by-forwardee = cette livraison a déjà reçu une réponse ({ $current }) de l'organisation à laquelle elle a été transférée ; elle n'attend pas de réponse de cette organisation
ingest-already-answered = cette livraison a déjà le statut { $current } ; elle ne peut pas passer au statut { $target }
ingest-cannot-become = cette livraison ne peut pas passer au statut { $target }
ingest-not-addressed = aucun message avec ce MessageHeader.id n'a été adressé à cette organisation par l'organisation à laquelle cette réponse est adressée ; seul le destinataire d'un message peut y répondre
ingest-several-originals = plusieurs messages adressés à cette organisation portent ce MessageHeader.id ; indiquez l'expéditeur d'origine dans MessageHeader.destination.receiver pour que la réponse atteigne le bon

## Capacité en lits : le MeasureReport d'un prestataire, et qui peut lire les chiffres.

capacity-body-not-json = le corps n'est pas du JSON (ligne { $line }, colonne { $column })
capacity-not-measure-report = le corps doit être un MeasureReport FHIR
capacity-reporter-no-identifier = le reporter désigne son organisation par un identifiant (system et value), ou est omis
capacity-reporter-not-caller = une organisation ne rapporte que sa propre capacité : le reporter n'est pas l'appelant
capacity-status = status doit valoir complete
capacity-type = type doit valoir summary
capacity-measure = measure doit être la Measure de capacité en lits { $measure }
capacity-bad-instant = doit être un dateTime avec une heure et un fuseau horaire (RFC 3339)
capacity-no-period-end = period.end est obligatoire : le moment auquel les chiffres s'appliquent
capacity-period-future = period.end se situe dans le futur (plus de { $seconds } secondes d'avance)
capacity-period-reversed = period.start est postérieur à period.end
capacity-no-group = au moins un group (type de soins) est obligatoire
capacity-too-many-groups = au plus { $max } groups (types de soins) par rapport ; celui-ci en a { $count }
capacity-bad-care-type = le code du group doit être un type de soins de la Measure de capacité en lits ({ $system })
capacity-care-type-twice = le type de soins { $careType } est rapporté deux fois ; un group par type de soins
capacity-bad-population = le code de la population doit être total, occupied ou available ({ $system })
capacity-population-twice = { $population } est indiqué deux fois
capacity-bad-count = count doit être un entier de 0 à { $max }
capacity-population-missing = la population { $population } est obligatoire
capacity-available-over-total = available ne doit pas dépasser total
capacity-occupied-over-total = occupied ne doit pas dépasser total
capacity-summary-forbidden = la synthèse régionale est réservée aux points de triage et aux auditeurs
capacity-read-forbidden = la capacité en lits est lue par les points de triage, les auditeurs et les prestataires qui la rapportent (la leur)
capacity-measure-twice = measure : indiquez-le une seule fois

## Qualité des transferts : les paramètres de $evaluate-measure, et qui peut lire quels chiffres.

quality-unknown-organisation = { $name } : aucune organisation de l'annuaire n'a cet identifiant
quality-forbidden = une organisation lit les chiffres où elle est l'expéditeur ou le destinataire ; ceux de la région sont réservés au rôle qualité et aux auditeurs
quality-parameter-twice = { $name } est indiqué plus d'une fois
quality-unknown-parameter = paramètre inconnu ; paramètres connus : { $known }
quality-bad-date = une date était attendue (AAAA-MM-JJ)
quality-bad-period = periodStart est postérieur à periodEnd
quality-period-too-long = un rapport couvre au plus { $max } jours
quality-bad-organisation = un identifiant d'organisation était attendu sous la forme system|value
quality-bad-kind = un type de transfert était attendu (son code d'événement)

## Paramètres de recherche de la boîte aux lettres, de la recherche de Tasks et du journal d'audit : le paramètre ($name), puis ce qui ne va pas.

search-count = { $name } : un nombre entier était attendu
search-cursor = { $name } : ce n'est pas un curseur de ce broker
mailbox-bad-wait = { $name } : un nombre de secondes était attendu
mailbox-bad-total = { $name } : none, estimate ou accurate était attendu
mailbox-bad-since = { $name } : un instant était attendu, p. ex. 2026-11-22T08:00:00Z
notified-bad-status = { $name } : ce n'est pas un status de Task
notified-bad-last-updated = { $name } : [ge|gt|le|lt|eq] et un instant ou une date étaient attendus
audit-unknown-organisation = { $name } : aucune organisation avec cet identifiant dans l'annuaire
audit-bad-date = { $name } : ge ou le et un instant ou une date étaient attendus
audit-bad-patient-identifier = { $name } : SYSTEM|VALUE était attendu
audit-patient-identifier-only = { $name } : un portail patient interroge uniquement par patient-identifier
audit-patient-one = { $name } : un portail patient interroge pour exactement un patient (SYSTEM|VALUE)
audit-output-failed = { $name } : { $detail }
