# What a request is told when the broker cannot take it as sent: the envelope, the body, the HTTP edge (fr).

issues-listed-first = d'autres problèmes ont été trouvés ; une réponse en liste les { $count } premiers
