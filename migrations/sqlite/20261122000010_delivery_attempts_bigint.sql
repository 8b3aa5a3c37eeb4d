-- PostgreSQL widens deliveries.attempts to BIGINT in this step; SQLite's INTEGER is 64 bits already. The
-- step exists on both backends to keep their migration histories in step.
SELECT 1;
