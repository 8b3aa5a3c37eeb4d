# Ce qu'une requête s'entend dire côté HTTP : identifiants, routes, types de média, limites, et les refus
# de la boîte aux lettres, des Tasks, du transfert et de l'annuaire (fr). Codes, types de média et id restent tels quels.

auth-missing = pas de jeton bearer : envoyez `Authorization: Bearer <token>`
auth-malformed = l'en-tête Authorization n'est pas `Bearer <token>`
auth-not-ascii = l'en-tête Authorization n'est pas en ASCII
auth-unknown = le jeton est inconnu ou révoqué
auth-expired = le jeton a expiré
auth-unknown-organization = aucune organisation de l'annuaire n'a l'identifiant { $identifier }
auth-regional-not-auditor = une portée régionale est réservée aux jetons d'auditeur, pas au rôle { $role }
auth-lifetime = la durée de validité d'un jeton est d'au moins une seconde
auth-random = impossible de générer un jeton : { $detail }
auth-certificate-not-registered = certificat enregistré pour aucune organisation
auth-certificate-ambiguous = le certificat client désigne plusieurs organisations de l'annuaire, il n'en identifie donc aucune
auth-certificate-refused = le certificat client a été refusé : { $reason ->
    [expired] le certificat a expiré
    [not-valid-yet] le certificat n'est pas encore valide
    [revoked] le certificat est révoqué
    [unknown-issuer] le certificat n'est pas émis par une CA à laquelle le broker fait confiance pour les certificats clients
    [not-for-client-auth] le certificat n'est pas destiné à l'authentification client TLS (extended key usage)
    [invalid] le certificat n'est pas valide : { $detail }
   *[other] { $detail }
}
auth-certificate-disagrees = le jeton bearer et le certificat client parlent pour des organisations différentes
http-method-not-allowed = cette méthode n'est pas autorisée sur ce chemin
http-no-such-endpoint = ce point d'accès n'existe pas
http-too-large = le corps de la requête dépasse la limite de { $limit } octets
http-unsupported-media-type = le Content-Type { $kind ->
    [none] (aucun)
    [not-ascii] (pas en ASCII)
   *[other] { $found }
} n'est pas accepté ; envoyez application/fhir+json ou application/fhir+xml (ou application/json, application/xml), charset utf-8
http-not-acceptable = le broker répond en application/fhir+json ou application/fhir+xml, pas en { $kind ->
    [not-ascii] (un en-tête Accept qui n'est pas en ASCII)
   *[other] { $asked }
}
http-timeout = le corps de la requête n'est pas arrivé dans le délai autorisé ; rien n'a été enregistré
http-unavailable = le broker ne peut pas joindre sa base de données ; rien n'a été enregistré, réessayez plus tard
http-internal = erreur interne ; rien n'a été enregistré. Le journal du broker contient les détails
http-over-rate = cette organisation dépasse son nombre de requêtes autorisé ; réessayez après le délai indiqué
http-bad-parameter = { $name } : { $problem }
http-body-not-json = le corps n'est pas du JSON : { $detail }
http-no-receipt = aucun accusé de réception avec cet identifiant de suivi pour cette organisation
forward-not-triage-point = seule une organisation marquée comme point de triage régional dans l'annuaire transfère des messages
forward-not-found = aucun message avec cet id n'a été livré à cette organisation
forward-purged = le contenu du message a été supprimé après sa durée de conservation ; il ne peut pas être transféré
forward-not-a-message = transfert impossible : { $detail }
mailbox-not-found = ce message n'est pas dans cette boîte aux lettres
mailbox-expired = le message a expiré avant d'être confirmé ; son expéditeur a été informé qu'il n'a pas été livré
mailbox-purged = le message a été livré ou clôturé il y a assez longtemps pour que son contenu soit supprimé (conservation) ; son historique reste dans le registre
mailbox-too-many-waiting = cette organisation tient déjà { $max } long-polls ouverts sur sa boîte aux lettres ; attendez qu'un se termine
task-not-found = aucune Task ni aucun transfert avec cet id pour cette organisation
task-no-document = ce transfert ne contient pas de Composition, il n'y a donc pas de document ; lisez le message
task-illegal-move = une Task au statut { $from } ne peut pas passer à { $to } ; la Task est inchangée
task-ended = cette livraison est { $state } : sa Task ne peut plus changer (l'expéditeur a été informé)
task-version-conflict = la Task est à la version { $current } : relisez-la et appliquez la modification à cette version
task-precondition-failed = If-Match ne désigne pas la version actuelle de la Task ({ $current })
task-purged = le contenu du transfert a été supprimé après sa durée de conservation ; son historique reste dans le registre
directory-not-found = aucune organisation avec l'id { $id }
directory-in-use = l'organisation { $id } a des messages ou des livraisons ; elle ne peut pas être supprimée
http-body-unreadable = le corps de la requête n'a pas pu être lu : { $detail }
http-wrong-role = il faut un jeton avec le rôle { $count ->
    [1] { $first }
    [2] { $first } ou { $second }
   *[other] { $first }, { $second } ou { $third }
} ; ce jeton a le rôle { $has }
http-validate-complete = le message est complet : aucun problème trouvé
mailbox-acknowledged = confirmé : le message est livré et a quitté la boîte aux lettres
mailbox-already-acknowledged = déjà confirmé : rien n'a changé
task-if-match-not-ascii = If-Match n'est pas en ASCII
xml-not-fhir = pas une ressource FHIR XML : { $detail }
