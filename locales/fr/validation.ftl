# What the validator says about a handover's content: base FHIR R4 structure, attachments, identifiers (fr).
# Arguments are element names, types, codes, counts and URLs, shown as given; never patient data.

## Base FHIR R4 structure (src/profiles/base.rs).

base-code-with-stray-character = { $element } : le code { $code } avec un caractère qui ne fait partie d'aucun code (invisible, espace, caractère de contrôle ou non ASCII)
base-code-case = { $element } : les codes sont sensibles à la casse ; le code de la liaison obligatoire est { $code }
base-code-not-in-binding = { $element } : ne fait pas partie des codes de sa liaison obligatoire : { $codes }
base-code-not-in-binding-more = { $element } : ne fait pas partie des codes de sa liaison obligatoire : { $codes }, … ({ $count } codes)
base-resource-type-missing = une ressource doit avoir un resourceType
base-unknown-resource-type = { $type } n'est pas un type de ressource FHIR R4
base-not-an-object = un objet JSON est attendu ({ $type })
base-empty-element = ele-1: un élément doit avoir une valeur ou des éléments enfants ; { $type } est vide
base-duplicate-member = { $key } apparaît deux fois dans cet objet ; en FHIR, les membres JSON doivent être uniques
base-second-choice = un seul { $choice }[x] peut être présent ; celui-ci est un deuxième
base-unknown-element = { $key } n'est pas un élément de { $type }
base-empty-array = en FHIR JSON, un tableau ne peut pas être vide
base-not-an-array = { $key } doit être un tableau
base-array-not-allowed = { $key } ne peut apparaître qu'une fois : pas de tableau
base-required = { $element } est obligatoire dans { $type }
base-code-not-a-string = un code doit être une chaîne JSON
base-control-characters = un { $type } FHIR ne peut pas contenir de caractères de contrôle (sous U+0020, sauf tabulation, CR et LF)
base-not-a-boolean = un { $type } FHIR doit être un booléen JSON
base-not-a-number = un { $type } FHIR doit être un nombre JSON
base-not-an-integer = un { $type } FHIR doit être un entier JSON dans les limites admises
base-not-a-date = un { $type } FHIR doit être une chaîne JSON au format de date FHIR, avec une date existante du calendrier
base-not-in-format = un { $type } FHIR doit être une chaîne JSON non vide dans son format FHIR
base-period-reversed = per-1: la période se termine avant de commencer

## Attachments and Binaries (src/profiles/attachments.rs): messages follow the element they are about.

attachment-data-without-content-type = att-1: un Attachment contenant des data doit avoir un contentType
attachment-content-type-differs-from-binary = est { $type }, mais le Binary désigné par son url est { $binary }
attachment-data-differs-from-binary = diffère des data du Binary désigné par son url
attachment-url-in-nested-resource = une url dans une ressource imbriquée dans une autre n'est pas résolue : son contenu n'est pas vérifié
attachment-url-contained-not-binary = désigne une ressource contenue (contained) qui n'est pas un Binary
attachment-url-no-contained-resource = ne désigne aucune ressource contenue (contained)
attachment-url-not-a-binary = désigne un { $type } dans le Bundle, et non un Binary
attachment-url-entry-without-resource = désigne une entry sans ressource
attachment-url-no-binary = ne désigne aucun Binary dans le Bundle : un transfert contient lui-même ses documents
attachment-url-outside-bundle = désigne un emplacement hors du Bundle : le broker ne vérifie pas son contenu
attachment-size-mismatch = vaut { $size }, mais les data font { $bytes } octets
attachment-hash-mismatch = n'est pas le SHA-1 des data
attachment-hash-length = fait { $bytes } octets ; en R4, Attachment.hash est un SHA-1 (20 octets) en base64
attachment-hash-too-long = fait plus de 64 octets ; en R4, Attachment.hash est un SHA-1 (20 octets) en base64
attachment-base64-length = n'est pas du base64 : sa longueur (hors espaces) n'est pas un multiple de 4
attachment-too-large = fait { $bytes } octets une fois décodé ; le broker transporte au maximum { $max } octets par pièce jointe
attachment-base64-character = n'est pas du base64 : il contient un caractère non base64 à la position { $position } (hors espaces)
attachment-base64-last-bits = n'est pas du base64 : il se termine à la position { $position } par des bits que le base64 laisse à zéro
attachment-base64-no-length = n'est pas du base64 : sa longueur ne correspond à aucun texte base64
attachment-base64-padding = n'est pas du base64 : son remplissage (=) est mal placé
attachment-not-a-media-type = n'est pas un type de média (type/sous-type, RFC 6838)
attachment-not-a-pdf = le contentType est { $type }, mais les octets ne commencent pas par %PDF-, comme un PDF
attachment-pdf-cut-off = le contentType est { $type } : pas de %%EOF dans les { $tail } derniers octets : le PDF est peut-être tronqué
attachment-bytes-are-a-pdf = le contentType est { $type }, mais les octets sont un PDF
attachment-not-utf8 = le contentType est { $type }, mais les octets ne sont pas en UTF-8 (à partir de l'octet { $byte })
attachment-control-character = le contentType est { $type }, mais les octets contiennent un caractère de contrôle ({ $character }) à l'octet { $byte }
attachment-xhtml-first-element = le contentType est { $type }, mais son premier élément n'est ni html ni div
attachment-xhtml-namespace = le contentType est { $type }, mais son premier élément n'est pas dans l'espace de noms XHTML ({ $namespace })
attachment-html-not-markup = le contentType est { $type }, mais les octets ne sont pas du balisage : le HTML commence par une balise, un commentaire ou un DOCTYPE
attachment-xhtml-not-markup = le contentType est { $type }, mais les octets ne sont pas du balisage : le XHTML commence par un élément html ou div (après une éventuelle déclaration XML, des commentaires et un DOCTYPE)
attachment-instruction-does-not-end = le contentType est { $type }, mais le balisage est mal formé : une instruction de traitement ne se termine pas
attachment-comment-does-not-end = le contentType est { $type }, mais le balisage est mal formé : un commentaire ne se termine pas
attachment-doctype-does-not-end = le contentType est { $type }, mais le balisage est mal formé : le DOCTYPE ne se termine pas
attachment-start-tag-broken = le contentType est { $type }, mais le balisage est mal formé : la première balise ouvrante est incomplète
attachment-charset-not-checked = { $type } dans le jeu de caractères { $charset } n'est pas vérifié (le broker ne lit que l'UTF-8)
attachment-unnamed-charset-not-checked = { $type } dans un jeu de caractères sans nom valable n'est pas vérifié (le broker ne lit que l'UTF-8)
attachment-encoding-not-checked = application/xhtml+xml dans l'encodage { $encoding } n'est pas vérifié (le broker ne lit que l'UTF-8)
attachment-unnamed-encoding-not-checked = application/xhtml+xml dans un encodage sans nom valable n'est pas vérifié (le broker ne lit que l'UTF-8)
attachment-type-not-checked = le type de contenu { $type } n'est pas vérifié (le broker vérifie application/pdf, text/plain, application/xhtml+xml et text/html)

## Identifiers with a check (src/profiles/identifiers.rs): $name is the NamingSystem's name (BSN, INSZ,
## AGB, ...), $holder is patient (an error) or other (a warning). The value itself is never shown.

identifier-not-digits = { $holder ->
        [patient] le numéro { $name } du patient
       *[other] le numéro { $name }
    } contient d'autres caractères que des chiffres
identifier-digit-count = { $holder ->
        [patient] le numéro { $name } du patient
       *[other] le numéro { $name }
    } n'a pas le bon nombre de chiffres
identifier-not-9-digits = { $holder ->
        [patient] le numéro { $name } du patient
       *[other] le numéro { $name }
    } ne compte pas 9 chiffres
identifier-eleven-check = { $holder ->
        [patient] le numéro { $name } du patient
       *[other] le numéro { $name }
    } ne satisfait pas au contrôle modulo 11
identifier-not-11-digits = { $holder ->
        [patient] le numéro { $name } du patient
       *[other] le numéro { $name }
    } ne compte pas 11 chiffres
identifier-check-digit = { $holder ->
        [patient] le numéro { $name } du patient
       *[other] le numéro { $name }
    } ne satisfait pas au contrôle modulo 97
identifier-not-10-digits = { $holder ->
        [patient] le numéro { $name } du patient
       *[other] le numéro { $name }
    } ne compte pas 10 chiffres commençant par 0 ou 1

## Profiles and Bundle integrity (src/profiles/validate.rs, src/profiles/mod.rs). A profile constraint's own
## text ("hb-pat-1: ...") comes from constraints.ftl by its key.

profile-unknown-event = l'événement { $system }|{ $code } n'est pas un type de transfert de ce broker (connus : { $known } de { $events })
profile-reference-not-contained = la référence ne renvoie pas à une ressource contenue (contained)
profile-reference-unresolved = la référence ne renvoie à aucune ressource de ce Bundle ; un transfert doit contenir toutes les ressources auxquelles il fait référence
profile-reference-type = ceci fait référence à un { $type } ; l'élément peut faire référence à { $allowed }
profile-reference-other-patient = ceci fait référence à un autre patient que celui du transfert (entry { $entry }) ; un transfert concerne un seul patient
profile-second-patient = un transfert concerne un seul patient, mais ce Bundle contient un autre Patient (le premier est l'entry { $entry })
profile-wrong-resource-type = un { $expected } est attendu (profil { $profile }), un { $type } a été trouvé
profile-pattern = le profil exige { $pattern }
profile-target-type = le profil autorise ici une référence à { $last } ; celle-ci renvoie à une ressource de type { $type }
profile-target-types = le profil autorise ici une référence à { $allowed } ou { $last } ; celle-ci renvoie à une ressource de type { $type }
profile-code-not-in-value-set = le code { $codes } ne fait pas partie du value set obligatoire { $valueset }
profile-min = { $element } est obligatoire selon le profil (au moins { $min }, { $count } trouvé(s))
profile-max = { $element } peut apparaître au maximum { $max } fois, { $count } trouvé(s)
profile-slice-min = { $element } '{ $slice }' est obligatoire selon le profil (au moins { $min }, { $count } trouvé(s))
profile-slice-min-pattern = { $element } '{ $slice }' ({ $pattern }) est obligatoire selon le profil (au moins { $min }, { $count } trouvé(s))
profile-slice-max = { $element } '{ $slice }' peut apparaître au maximum { $max } fois, { $count } trouvé(s)
profile-slice-max-pattern = { $element } '{ $slice }' ({ $pattern }) peut apparaître au maximum { $max } fois, { $count } trouvé(s)
profile-focus-missing = MessageHeader.focus doit renvoyer au { $type } du transfert
profile-nothing-to-check = aucun { $type } à vérifier par rapport à { $profile }
