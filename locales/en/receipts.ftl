# The words of the receipts a sender gets about its handovers (en).

receipts-placeholder = -
