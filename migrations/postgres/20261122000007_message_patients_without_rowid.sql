-- SQLite rebuilds message_patients as a WITHOUT ROWID table in this step; PostgreSQL has nothing to
-- change. The step exists on both backends to keep their migration histories in step.
SELECT 1;
