//! Text: the line grammar, segmentation into posts, normalisation and keys, language
//! detection, and finishing a post. Pure functions of their input, no I/O.

pub(crate) mod block_fold;
pub mod grammar;
pub mod key_memo;
pub mod lang;
pub mod normalise;
pub mod post;
pub mod reason;
pub mod segment;
pub mod shingle;
pub(crate) mod swar;
pub mod template;
