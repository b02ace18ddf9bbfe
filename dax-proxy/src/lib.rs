//! keyfall-dax: a DAX-like write-through cache in front of keyfall-server.
//! Not built yet (see the proxy issue); the crate exists so the workspace layout is final.
#![deny(unsafe_code)]
