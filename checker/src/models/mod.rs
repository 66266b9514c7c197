//! The built-in models: register, cas-register, kv, list-append, set.
