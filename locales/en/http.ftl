# What a request is told at the HTTP edge: credentials, routes, media types, limits, and the refusals of
# the mailbox, Tasks, forwarding and the directory (en). Codes, media types and ids stay as they are.

auth-missing = no bearer token: send `Authorization: Bearer <token>`
auth-malformed = the Authorization header is not `Bearer <token>`
auth-not-ascii = the Authorization header is not ASCII
auth-unknown = the token is unknown or revoked
auth-expired = the token has expired
auth-unknown-organization = no organisation in the directory has identifier { $identifier }
auth-regional-not-auditor = a regional scope is only for auditor tokens, not for role { $role }
auth-lifetime = a token's lifetime must be at least one second
auth-random = cannot generate a token: { $detail }
auth-certificate-not-registered = certificate not registered for any organisation
auth-certificate-ambiguous = the client certificate names more than one organisation of the directory, so it identifies none
auth-certificate-refused = the client certificate was refused: { $reason ->
    [expired] the certificate has expired
    [not-valid-yet] the certificate is not valid yet
    [revoked] the certificate is revoked
    [unknown-issuer] the certificate is not issued by a CA the broker trusts for client certificates
    [not-for-client-auth] the certificate is not for TLS client authentication (extended key usage)
    [invalid] the certificate is not valid: { $detail }
   *[other] { $detail }
}
auth-certificate-disagrees = the bearer token and the client certificate speak for different organisations
http-method-not-allowed = this method is not allowed on this path
http-no-such-endpoint = no such endpoint
http-too-large = the request body is larger than the limit of { $limit } bytes
http-unsupported-media-type = Content-Type { $kind ->
    [none] (none)
    [not-ascii] (not ASCII)
   *[other] { $found }
} is not accepted; send application/fhir+json or application/fhir+xml (or application/json, application/xml), charset utf-8
http-not-acceptable = the broker answers in application/fhir+json or application/fhir+xml, not { $kind ->
    [not-ascii] (an Accept header that is not ASCII)
   *[other] { $asked }
}
http-timeout = the request body did not arrive within the time allowed; nothing was stored
http-unavailable = the broker cannot reach its database; nothing was stored, retry later
http-internal = internal error; nothing was stored. The broker's log has the details
http-over-rate = this organisation is over its request rate; retry after the time given
http-bad-parameter = { $name }: { $problem }
http-body-not-json = the body is not JSON: { $detail }
http-no-receipt = no receipt with this tracking id for this organisation
forward-not-triage-point = only an organisation marked as a regional triage point in the directory forwards messages
forward-not-found = no message with this id was delivered to this organisation
forward-purged = the message's payload was removed after its retention period; it cannot be forwarded
forward-not-a-message = cannot forward: { $detail }
mailbox-not-found = no such message in this mailbox
mailbox-expired = the message expired before it was acknowledged; its sender has been told it was not delivered
mailbox-purged = the message was delivered or ended long enough ago that its payload was purged (retention); its history is still in the ledger
mailbox-too-many-waiting = this organisation already holds { $max } long-polls of its mailbox open; wait for one to end
task-not-found = no such Task or handover for this organisation
task-no-document = this handover holds no Composition, so there is no document; read the message
task-illegal-move = a Task with status { $from } cannot become { $to }; the Task is unchanged
task-ended = this delivery is { $state }: its Task can no longer change (the sender has been told)
task-version-conflict = the Task is at version { $current }: read it again and apply the change to that version
task-precondition-failed = If-Match does not name the Task's current version ({ $current })
task-purged = the handover's payload was removed after its retention period; its history is still in the ledger
directory-not-found = no organisation with id { $id }
directory-in-use = organisation { $id } has messages or deliveries; it cannot be removed
http-body-unreadable = the request body could not be read: { $detail }
http-wrong-role = this needs a token with role { $count ->
    [1] { $first }
    [2] { $first } or { $second }
   *[other] { $first } or { $second } or { $third }
}; this token has role { $has }
http-validate-complete = the message is complete: no issues found
mailbox-acknowledged = acknowledged: the message is delivered and has left the mailbox
mailbox-already-acknowledged = already acknowledged: nothing changed
task-if-match-not-ascii = If-Match is not ASCII
xml-not-fhir = not a FHIR XML resource: { $detail }
