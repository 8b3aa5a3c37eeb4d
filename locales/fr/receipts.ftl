# Les textes des accusés de réception qu'un expéditeur reçoit sur ses transferts, et d'un retrait (fr).
# Les codes (états de livraison, priorités), identifiants et identifiants de suivi restent tels quels.

receipt-about = Destinataire { $receiver } ; identifiant de suivi { $tracking }.
withdrawal-about = Identifiant de suivi { $tracking } ; MessageHeader.id { $header }.
receipt-delivered = Livré au système du destinataire.
receipt-acknowledged-from-mailbox = Téléchargé et confirmé par le destinataire depuis sa boîte aux lettres.
receipt-fetched = Récupéré par le destinataire auprès du broker (Notified Pull).
receipt-task-set = Le destinataire a le message : il a mis sa Task à { $status } (Notified Pull).
receipt-purged = le contenu n'est plus conservé
receipt-xml-unwritable = Le message n'a pas pu être écrit en FHIR XML, le format que le destinataire accepte.
receipt-refused-permanently = Le système du destinataire a refusé le message définitivement (HTTP { $reason }).
receipt-expired = Le message n'a pas été livré dans sa durée de validité et ne sera pas livré.
receipt-accepted = Le destinataire a accepté le message.
receipt-rejected = Le destinataire a refusé le message ; ses raisons suivent.
receipt-forwarded = Transféré par le point de triage à { $names }.
receipt-forwarded-first-accept = Transféré par le point de triage à { $count } candidats ({ $names }) ; le premier qui accepte répond à cette demande.
receipt-placed = Accepté par { $placed }, à qui le point de triage a transféré le message (transféré sous l'identifiant de suivi { $forwarded }).
receipt-declined-via = Refusé par { $by }, à qui le point de triage a transféré le message (transféré sous l'identifiant de suivi { $forwarded }) ; ses raisons suivent.
receipt-unplaced-declined = La livraison à ce candidat s'est terminée en { $state }. Tous les destinataires de ce transfert ont maintenant refusé ou n'ont pas pu être joints : personne n'a été placé, et la demande d'origine (identifiant de suivi { $original }) reçoit une réponse de refus.
receipt-unplaced-back = La livraison à ce candidat s'est terminée en { $state }. Tous les destinataires de ce transfert ont maintenant refusé ou n'ont pas pu être joints : personne n'a été placé, et la demande (identifiant de suivi { $original }) revient au point de triage.
receipt-withdrawn = Retiré : le patient a été placé chez un autre prestataire, cette demande n'attend donc plus de réponse.
receipt-overdue = Le destinataire { $receiver } n'a pas répondu à cette demande (priorité { $priority }) dans son délai de réponse de { $within } (compté dans ses heures d'ouverture), qui a pris fin à { $due }. Identifiant de suivi { $tracking }.
escalation-reason = Escaladé par le broker : cette demande (priorité { $priority }) n'a pas reçu de réponse dans les { $within } (comptés dans les heures d'ouverture du destinataire).
receipt-escalated = Pas de réponse à temps de { $receiver } : escaladé par le broker vers { $target }. Cette demande (priorité { $priority }) n'a pas reçu de réponse dans les { $within } (comptés dans les heures d'ouverture du destinataire).
