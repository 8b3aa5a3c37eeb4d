# What the broker says when a handover cannot be routed, forwarded, wrapped or reported on (nl).

routing-placeholder = -
