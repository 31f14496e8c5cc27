#![cfg(feature = "server")]
//! placeholder
