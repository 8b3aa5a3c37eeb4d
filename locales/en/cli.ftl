# The words of the command line's `validate` summary (en).

cli-placeholder = -
