# What a request is told when the broker cannot take it as sent: the envelope, the body, the HTTP edge (nl).

issues-listed-first = er zijn meer problemen gevonden; een antwoord noemt de eerste { $count }
