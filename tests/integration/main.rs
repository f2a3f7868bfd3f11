//! The integration test binary: the real `tgclean` executable on fixtures, the command
//! line's behaviour, and properties of whole runs.

mod cli;
mod golden;
mod hostile;
mod props;
mod realdata;
mod state;
