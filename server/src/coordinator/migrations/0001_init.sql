-- The commit coordinator's schema (server/src/coordinator/postgres.rs). One repository per database.
CREATE TABLE x0x_dist_repo (
    id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    ts_version bigint NOT NULL,
    ts_sha256 text NOT NULL,
    ts_bytes bytea NOT NULL,
    snapshot_version bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL
);
-- A versioned name (`V.role.json`, `S.snapshot.json`) is written only by the holder of its reservation.
CREATE TABLE x0x_dist_reservation (
    role text NOT NULL,
    version bigint NOT NULL,
    holder text NOT NULL,
    sha256 text,
    committed boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role, version)
);
CREATE TABLE x0x_dist_token (
    id text PRIMARY KEY,
    sha256 text NOT NULL UNIQUE,
    packages text[] NOT NULL,
    created text NOT NULL,
    created_by text NOT NULL,
    revoked_at timestamptz,
    revoked_by text,
    last_used_at timestamptz
);
CREATE TABLE x0x_dist_audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    replica text NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    detail jsonb NOT NULL
);
CREATE INDEX x0x_dist_audit_at ON x0x_dist_audit (at);
