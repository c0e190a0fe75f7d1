-- Trusted publishing's replay memory (server/src/oidc/replay.rs): every OIDC ID token exchanged, by SHA-256 of
-- `iss NUL jti`, until it expires; shared by every replica and kept across restarts.
CREATE TABLE x0x_dist_oidc_jti (
    key bytea PRIMARY KEY,
    exp bigint NOT NULL
);
CREATE INDEX x0x_dist_oidc_jti_exp ON x0x_dist_oidc_jti (exp);
