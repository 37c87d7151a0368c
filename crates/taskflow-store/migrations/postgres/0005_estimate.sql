-- A task's estimated effort in minutes (1 minute to 10 000 hours); none when not given.
ALTER TABLE tasks ADD COLUMN estimate BIGINT CHECK (estimate BETWEEN 1 AND 600000);
