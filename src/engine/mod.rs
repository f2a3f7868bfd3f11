//! The engine (SPEC §9): a run in three phases, each usable on its own.
//!
//! * [`plan()`] finds the inputs and cuts their global order into shards;
//! * [`scan()`] reads one shard into [`ShardScan`]: per post its order, id, origin and
//!   paragraph keys — pure, so shards can be scanned anywhere, at once;
//! * [`decide()`] judges all scans in order (plus `--state`) into [`ShardDecisions`];
//! * [`emit()`] reads one shard again and writes its records with the decisions.
//!
//! [`clean`] fuses the three for a single process (each batch decided and emitted as
//! it is read); [`clean_sharded`] runs them one after another. Both use the same
//! [`Decider`] and [`Emitter`], so they write the same bytes. [`wire`] gives the
//! phases' values a compact, versioned binary form for other processes.

mod commit;
pub mod decide;
mod driven;
pub mod emit;
pub mod interrupt;
pub mod plan;
pub mod read;
mod run;
pub mod scan;
mod spill;
mod state_file;
pub mod wire;

pub use decide::{
    Decider, Decisions, FirstCopyAt, PostDecision, ShardDecisions, decide, decide_expecting,
};
pub use driven::{DrivenRun, emit_part};
pub use emit::{Emitter, emit};
pub use interrupt::exit_on_signal;
pub use plan::{Piece, Plan, Shard, TextRange, plan};
pub use run::{clean, clean_sharded, clean_to};
pub use scan::{CopyAt, PostScan, ScanParagraph, ShardScan, scan};
pub use state_file::load as load_state;
