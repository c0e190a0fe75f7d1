-- Every timestamp made current, with when (the database's clock, taken as the last step before the commit), so a
-- replica can tell which timestamps any replica may already serve without asking per request
-- (docs/coordinator.md, "Reads"). Pruned after an hour, the newest one always kept.
CREATE TABLE x0x_dist_ts_history (
    ts_version bigint PRIMARY KEY,
    ts_bytes bytea NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- The current timestamp of an existing deployment: any replica may already have served it.
INSERT INTO x0x_dist_ts_history (ts_version, ts_bytes, committed_at)
SELECT ts_version, ts_bytes, clock_timestamp() - interval '1 hour' FROM x0x_dist_repo;
