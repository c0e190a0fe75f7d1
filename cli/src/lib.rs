//! The publishing client of the `x0x-dist` CLI ([`client`]) and how it prints untrusted text ([`terminal`]), a library so that the integration tests drive it
//! directly. The server is `x0x_dist_server`, the offline repository operations `x0x_dist_repository`.
pub mod client;
pub mod terminal;
