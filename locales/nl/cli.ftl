# The words of the command line's `validate` summary (nl).

cli-placeholder = -
