//! The built-in models: register (also named cas-register), kv, list-append, set.

pub mod kv;
pub mod list_append;
pub mod producers;
pub mod register;
pub mod set;
pub mod text;

pub use kv::Kv;
pub use list_append::ListAppend;
pub use register::Register;
pub use set::Set;
