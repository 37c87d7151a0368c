-- A task's estimated effort in minutes (1 minute to 10 000 hours); none when not given.
ALTER TABLE tasks ADD COLUMN estimate BIGINT CHECK (estimate BETWEEN 1 AND 600000);
-- A board's column totals read only the tasks that have an estimate, from the index alone: a
-- project of a hundred thousand tasks without estimates costs one empty index range.
CREATE INDEX tasks_estimate ON tasks (project_id, status, estimate)
    WHERE deleted_at IS NULL AND estimate IS NOT NULL;
