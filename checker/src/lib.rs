//! The judge of every gauntlet run: histories of client operations, models of the systems under
//! test, and a linearizability search that says whether a history could have come from a single
//! correct copy of the model.
#![forbid(unsafe_code)]

pub mod history;
