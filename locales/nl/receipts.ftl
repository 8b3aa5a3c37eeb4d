# The words of the receipts a sender gets about its handovers (nl).

receipts-placeholder = -
