-- A project's workflow: its statuses in board order, each a name (unique in the project as
-- `name_key` compares names: lower-case, without spaces, hyphens or underscores), a colour, a
-- category (what "open" and "done" mean), and an optional limit on the tasks in it. Tasks
-- refer to their status; every project had To do / In progress / Done, and keeps them.
CREATE TABLE statuses (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    name_key   TEXT NOT NULL CHECK (length(name_key) >= 1),
    colour     TEXT NOT NULL CHECK (length(colour) = 7 AND colour GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    category   TEXT NOT NULL CHECK (category IN ('backlog', 'unstarted', 'started', 'completed', 'cancelled')),
    position   INTEGER NOT NULL,
    wip_limit  INTEGER CHECK (wip_limit BETWEEN 1 AND 999),
    -- How many live tasks it holds, kept by the triggers below: a board's column counts are
    -- one row each, not a count of every task (not in backups: a restore counts its rows).
    live_tasks INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project_id, name_key)
) STRICT;

INSERT INTO statuses (project_id, name, name_key, colour, category, position)
SELECT id, 'To do', 'todo', '#8b949e', 'unstarted', 0 FROM projects ORDER BY id;
INSERT INTO statuses (project_id, name, name_key, colour, category, position)
SELECT id, 'In progress', 'inprogress', '#1f6feb', 'started', 1 FROM projects ORDER BY id;
INSERT INTO statuses (project_id, name, name_key, colour, category, position)
SELECT id, 'Done', 'done', '#2da44e', 'completed', 2 FROM projects ORDER BY id;

-- Checked at commit, so a project and everything in it can go in one statement.
ALTER TABLE tasks ADD COLUMN status_id INTEGER REFERENCES statuses (id) DEFERRABLE INITIALLY DEFERRED;
UPDATE tasks SET status_id = (
    SELECT s.id FROM statuses s
    WHERE s.project_id = tasks.project_id AND s.name_key = replace(tasks.status, '_', ''));
-- A column added to an existing table cannot be declared NOT NULL here; these keep it so.
CREATE TRIGGER tasks_status_required_insert BEFORE INSERT ON tasks
WHEN new.status_id IS NULL BEGIN
    SELECT RAISE(ABORT, 'NOT NULL constraint failed: tasks.status_id');
END;
CREATE TRIGGER tasks_status_required_update BEFORE UPDATE OF status_id ON tasks
WHEN new.status_id IS NULL BEGIN
    SELECT RAISE(ABORT, 'NOT NULL constraint failed: tasks.status_id');
END;

DROP INDEX tasks_by_status_position;
DROP INDEX tasks_estimate;
ALTER TABLE tasks DROP COLUMN status;
CREATE INDEX tasks_by_status_position ON tasks (project_id, status_id, position, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_estimate ON tasks (project_id, status_id, estimate)
    WHERE deleted_at IS NULL AND estimate IS NOT NULL;
-- Every task of a status, trashed ones too: what deleting a status moves.
CREATE INDEX tasks_status ON tasks (status_id);

UPDATE statuses SET live_tasks = (
    SELECT count(*) FROM tasks t WHERE t.status_id = statuses.id AND t.deleted_at IS NULL);
CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks
WHEN new.deleted_at IS NULL BEGIN
    UPDATE statuses SET live_tasks = live_tasks + 1 WHERE id = new.status_id;
END;
CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks
WHEN old.deleted_at IS NULL BEGIN
    UPDATE statuses SET live_tasks = live_tasks - 1 WHERE id = old.status_id;
END;
CREATE TRIGGER tasks_count_update AFTER UPDATE OF status_id, deleted_at ON tasks
WHEN old.status_id IS NOT new.status_id OR (old.deleted_at IS NULL) <> (new.deleted_at IS NULL) BEGIN
    UPDATE statuses SET live_tasks = live_tasks - 1 WHERE id = old.status_id AND old.deleted_at IS NULL;
    UPDATE statuses SET live_tasks = live_tasks + 1 WHERE id = new.status_id AND new.deleted_at IS NULL;
END;

-- The activity log names statuses as people read them.
UPDATE activity SET
    old_value = CASE old_value WHEN 'todo' THEN 'To do' WHEN 'in_progress' THEN 'In progress' WHEN 'done' THEN 'Done' ELSE old_value END,
    new_value = CASE new_value WHEN 'todo' THEN 'To do' WHEN 'in_progress' THEN 'In progress' WHEN 'done' THEN 'Done' ELSE new_value END
WHERE field = 'status';
