# The words of the receipts a sender gets about its handovers, and of a withdrawal (en).
# Codes (delivery states, priorities), identifiers and tracking ids are shown as they are.

receipt-about = Receiver { $receiver }; tracking id { $tracking }.
withdrawal-about = Tracking id { $tracking }; MessageHeader.id { $header }.
receipt-delivered = Delivered to the receiver's system.
receipt-acknowledged-from-mailbox = Downloaded and acknowledged by the receiver from its mailbox.
receipt-fetched = Fetched by the receiver from the broker (Notified Pull).
receipt-task-set = The receiver has the message: it set its Task to { $status } (Notified Pull).
receipt-purged = the payload is no longer stored
receipt-xml-unwritable = The message could not be written as FHIR XML, which the receiver takes.
receipt-refused-permanently = The receiver's system refused the message permanently (HTTP { $reason }).
receipt-expired = The message was not delivered within its time to live and will not be delivered.
receipt-accepted = The receiver accepted the message.
receipt-rejected = The receiver rejected the message; its reasons follow.
receipt-forwarded = Forwarded by the triage point to { $names }.
receipt-forwarded-first-accept = Forwarded by the triage point to { $count } candidates ({ $names }); the first to accept answers this request.
receipt-placed = Accepted by { $placed }, to whom the triage point forwarded the message (forwarded as tracking id { $forwarded }).
receipt-declined-via = Declined by { $by }, to whom the triage point forwarded the message (forwarded as tracking id { $forwarded }); its reasons follow.
receipt-unplaced-declined = This candidate's delivery ended { $state }. Every receiver of this forwarding has now declined or could not be reached: nobody was placed, and the original request (tracking id { $original }) is answered as declined.
receipt-unplaced-back = This candidate's delivery ended { $state }. Every receiver of this forwarding has now declined or could not be reached: nobody was placed, and the request (tracking id { $original }) is back with the triage point.
receipt-withdrawn = Withdrawn: the patient was placed with another provider, so this request needs no answer.
receipt-overdue = The receiver { $receiver } has not answered this { $priority } request within its response time of { $within } (counted in its opening hours), which ended at { $due }. Tracking id { $tracking }.
escalation-reason = Escalated by the broker: this { $priority } request was not answered within { $within } (counted in the receiver's opening hours).
receipt-escalated = Not answered in time by { $receiver }: escalated by the broker to { $target }. Escalated by the broker: this { $priority } request was not answered within { $within } (counted in the receiver's opening hours).
