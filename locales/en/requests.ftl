# What a request is told when the broker cannot take it as sent: the envelope, the body, the HTTP edge (en).

issues-listed-first = more issues were found; an answer lists the first { $count }
