-- A person's time zone (an IANA name such as Europe/Berlin), for what "today" means to them and
-- the times pages show; none means the browser's own.
ALTER TABLE users ADD COLUMN time_zone TEXT CHECK (time_zone IS NULL OR length(time_zone) BETWEEN 1 AND 64);
