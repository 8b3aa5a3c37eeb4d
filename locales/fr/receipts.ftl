# The words of the receipts a sender gets about its handovers (fr).

receipts-placeholder = -
