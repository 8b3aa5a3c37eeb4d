# What a request is told when the broker cannot take it as sent: the envelope, the body, the HTTP edge (fr).

issues-listed-first = d'autres problèmes ont été trouvés ; une réponse en liste les { $count } premiers

## The message envelope: the body as JSON, the Bundle, its MessageHeader.

envelope-body-empty = le corps de la requête est vide ; attendu : { $kind ->
    [message] un Bundle FHIR de type message
    [document] un Bundle FHIR de type document
   *[other] { $expected }
}
envelope-json-too-deep = l'imbrication JSON dépasse la limite de { $limit } niveaux
envelope-json-ends-early = le JSON se termine prématurément à la ligne { $line }, colonne { $column }
envelope-json-number-out-of-range = un nombre est hors limites (plus grand que ce qu'un flottant 64 bits peut contenir) à la ligne { $line }, colonne { $column }
envelope-json-invalid = le corps n'est pas du JSON valide (UTF-8) à la ligne { $line }, colonne { $column }
envelope-not-an-object = un objet JSON (un Bundle FHIR) est attendu
envelope-not-a-bundle = une ressource FHIR de type Bundle est attendue
envelope-type-not-message = Bundle.type vaut { $type } ; $process-message attend un Bundle de type message
envelope-type-missing = Bundle.type est absent ; la valeur attendue est message
envelope-no-entries = un Bundle de type message doit contenir des entries, la première étant un MessageHeader
envelope-too-many-entries = le Bundle contient { $count } entries ; la limite est de { $limit }
envelope-first-entry-not-header = la première entry d'un Bundle de type message doit être un MessageHeader
envelope-header-id-invalid = MessageHeader.id n'est pas un id FHIR (1 à 64 caractères parmi A-Z, a-z, 0-9, '-' et '.')
envelope-header-id-missing = MessageHeader.id est obligatoire : c'est l'identité du message pour la déduplication
envelope-event-uri = les événements sont identifiés par eventCoding (system et code) ; eventUri n'est pas pris en charge
envelope-event-coding-missing = MessageHeader.eventCoding avec system et code est obligatoire
envelope-source-endpoint-missing = MessageHeader.source.endpoint est obligatoire
envelope-too-many-destinations = le message a { $count } destinations ; la limite est de { $limit }

## A body in FHIR XML that cannot be read.

-xml-refused = pas une ressource FHIR XML
xml-not-utf8 = { -xml-refused } : le document n'est pas en UTF-8 (à partir de l'octet { $byte })
xml-not-well-formed = { -xml-refused } : XML mal formé : { $detail }
xml-too-deep = { -xml-refused } : imbrication de plus de { $limit } éléments
xml-too-many-elements = { -xml-refused } : plus de { $limit } éléments
xml-div-undelimited = { -xml-refused } : impossible de délimiter un div
xml-end-without-start = { -xml-refused } : une balise de fin sans balise d'ouverture
xml-text-outside-div = { -xml-refused } : du texte en dehors d'un div narratif : FHIR XML porte les valeurs dans des attributs value
xml-cdata-refused = { -xml-refused } : les sections CDATA ne font pas partie de FHIR XML
xml-doctype-refused = { -xml-refused } : une déclaration de type de document (DTD) est refusée : FHIR XML n'en a pas
xml-processing-instruction-refused = { -xml-refused } : les instructions de traitement sont refusées
xml-ends-early = { -xml-refused } : le document se termine avant la fin de son élément racine
xml-content-after-root = { -xml-refused } : du contenu après l'élément racine
xml-div-no-resource = { -xml-refused } : un div narratif n'est pas une ressource
xml-name-outside = { -xml-refused } : un nom d'élément en dehors du document
xml-namespace-prefix = { -xml-refused } : les préfixes d'espace de noms ne font pas partie de FHIR XML : { $name }
xml-attribute-malformed = { -xml-refused } : un attribut mal formé : { $detail }
xml-attribute-outside = { -xml-refused } : un attribut en dehors du document
xml-attribute-refused = { -xml-refused } : attribut { $key } refusé : { $detail }
xml-resource-attribute = { -xml-refused } : un élément de ressource n'accepte pas d'attribut { $key }
xml-attribute-unknown = { -xml-refused } : attribut inconnu { $key }
xml-element-unknown = { -xml-refused } : { $owner } n'a pas d'élément { $name }
xml-element-repeats = { -xml-refused } : { $name } apparaît { $count } fois ; il ne peut apparaître qu'une fois
xml-one-resource = { -xml-refused } : { $name } contient exactement un élément de ressource
xml-not-a-resource = { -xml-refused } : { $name } n'est pas une ressource FHIR
xml-narrative-without-markup = { -xml-refused } : narratif sans balisage
xml-not-primitive = { -xml-refused } : { $name } n'est pas un élément primitif : il n'accepte pas d'attribut value
xml-primitive-attribute = { -xml-refused } : un élément primitif n'accepte que les attributs value et id, pas { $key }
xml-primitive-only-extensions = { -xml-refused } : un élément primitif ne contient que des extensions
xml-value-invalid = { -xml-refused } : pas une valeur valide de type { $kind }
xml-element-empty = { -xml-refused } : un élément sans value ni extensions
xml-root-not-a-resource = { -xml-refused } : l'élément racine { $name } n'est pas une ressource FHIR
xml-root-namespace = { -xml-refused } : l'élément racine doit être dans l'espace de noms FHIR { $namespace }
xml-no-resource = { -xml-refused } : aucune ressource n'a été lue

## The edge's words for a forwarding that cannot be built.

http-forward-receivers = un transfert désigne au moins un et au plus { $max } destinataires
http-forward-note-too-long = la note dépasse { $max } caractères

## A directory import that names an organisation twice.

http-directory-duplicate-identifier = l'identifiant { $identifier } appartient à deux organisations
http-directory-duplicate-client-id = l'identifiant de client SMART { $client } appartient à deux organisations
