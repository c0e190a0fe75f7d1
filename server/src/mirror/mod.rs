//! Serving a mirror: [`pull`], the pull-through middleware. Mirror directories and `mirror sync` are
//! `x0x_dist_repository::mirror`.
pub mod pull;
