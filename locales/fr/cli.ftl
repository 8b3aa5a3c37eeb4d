# The words of the command line's `validate` summary (fr).

cli-placeholder = -
