-- The language an organisation's people read (issue 16): the receipts it is sent are written in it.
-- NULL: English. A BCP-47 primary tag the broker writes: nl, fr or en.
ALTER TABLE organizations ADD COLUMN language TEXT;
