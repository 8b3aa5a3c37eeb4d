# De teksten van de samenvatting van `validate` op de opdrachtregel (nl).

cli-complete = { $file }: volledig
cli-counts = { $file }: { $errors ->
    [one] { $errors } fout
   *[other] { $errors } fouten
}, { $warnings ->
    [one] { $warnings } waarschuwing
   *[other] { $warnings } waarschuwingen
}
cli-error = fout
cli-warning = waarschuwing
