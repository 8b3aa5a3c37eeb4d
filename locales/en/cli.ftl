# The words of the command line's `validate` summary (en).

cli-complete = { $file }: complete
cli-counts = { $file }: { $errors ->
    [one] { $errors } error
   *[other] { $errors } errors
}, { $warnings ->
    [one] { $warnings } warning
   *[other] { $warnings } warnings
}
cli-error = error
cli-warning = warning
