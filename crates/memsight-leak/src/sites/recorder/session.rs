//! One attribution session: tables ready, GOT entries rewritten, and everything put back when
//! it drops, on every path (the phase's early returns, a panic in the harness itself).

use super::{got, hooks, record};

/// The hooks are in and frees are looked up while this lives.
pub(crate) struct Session(());

impl Session {
    /// Readies the tables and rewrites the GOT entries of every loaded object. Nothing is
    /// recorded until [`record::arm`].
    pub(crate) fn start() -> Result<Session, String> {
        record::start()?;
        let session = Session(());
        got::set_hooks(hooks::resolve());
        got::patch_new();
        Ok(session)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        record::arm(false);
        got::restore();
        got::set_hooks(Vec::new());
        record::end();
    }
}
