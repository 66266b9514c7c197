//! The built-in models: register, cas-register, kv, list-append, set.

pub mod kv;
pub mod list_append;
pub mod producers;
pub mod register;
pub mod set;

pub use kv::Kv;
pub use list_append::ListAppend;
pub use register::{CasRegister, Register};
pub use set::Set;
