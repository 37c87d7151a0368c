-- Failed logins, counted per name at a client address and per address (name ''), in the
-- database so every replica sees the same counts and `taskflow user unlock` can clear them.
CREATE TABLE login_failures (
    username       TEXT NOT NULL,
    address        TEXT NOT NULL,
    failures       INTEGER NOT NULL,
    last_failed_at INTEGER NOT NULL,
    PRIMARY KEY (username, address)
) STRICT;
CREATE INDEX login_failures_address ON login_failures (address);
CREATE INDEX login_failures_expiry ON login_failures (last_failed_at);
