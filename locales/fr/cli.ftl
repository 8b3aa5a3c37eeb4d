# Les textes du résumé de `validate` en ligne de commande (fr).

cli-complete = { $file } : complet
cli-counts = { $file } : { $errors ->
    [one] { $errors } erreur
   *[other] { $errors } erreurs
}, { $warnings ->
    [one] { $warnings } avertissement
   *[other] { $warnings } avertissements
}
cli-error = erreur
cli-warning = avertissement
