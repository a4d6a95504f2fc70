//! TODO
use crate::check::Check;

/// The checks of this family.
pub static CHECKS: &[Check] = &[];
