//! A decider for `list-append` histories that needs no search.
//!
//! Every appended element is unique and every read returns the whole list, so the reads of a key
//! reveal the order in which its elements were appended (the idea of Elle, Kingsbury and Alvaro,
//! "Elle: Inferring Isolation Anomalies from Experimental Observations"): every read must be a
//! prefix of the longest one ([`order`]). That order fixes where each operation takes effect, up
//! to ties, and real time is then checked by sorting and one sweep ([`realtime`]). The answer is
//! exact, in O(n log n) plus the size of the reads; a key where an element is appended twice is
//! left to the general search ([`combine`]). Violations are named ([`anomaly`]).

pub mod anomaly;
pub mod combine;
pub mod decide;
mod describe;
mod order;
mod realtime;

pub use anomaly::{OrderAnomaly, OrderAnomalyKind};
pub use combine::check_list_append;
pub use decide::{decide_key, KeyDecision};
