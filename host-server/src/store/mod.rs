//! Durable storage of the command log and of state snapshots, behind the
//! [`Store`] trait so that other backends (etcd) can replace the embedded one.

mod embedded;
mod file;

pub use embedded::RedbStore;
pub use file::FileStore;

/// A snapshot's bytes: read into memory, or mapped from the file that
/// holds them (no copy, no fresh pages: hundreds of MB at 100 000 jobs).
pub enum SnapshotBytes {
    Owned(Vec<u8>),
    Mapped(file::Mapped),
}

impl std::ops::Deref for SnapshotBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            SnapshotBytes::Owned(v) => v,
            SnapshotBytes::Mapped(m) => m,
        }
    }
}

impl std::fmt::Debug for SnapshotBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SnapshotBytes({} bytes)", self.len())
    }
}

/// A storage failure. The server stops writing when the log cannot be
/// made durable: acknowledging a write that may be lost is worse.
#[derive(Debug, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

/// What a store holds on start-up: the newest snapshot and the log after it.
#[derive(Debug, Default)]
pub struct Recovered {
    /// `(log position, encoded state)` of the newest snapshot.
    pub snapshot: Option<(u64, SnapshotBytes)>,
    /// Encoded commands after the snapshot, in log order, with positions.
    pub entries: Vec<(u64, Vec<u8>)>,
}

/// A durable, ordered log of encoded commands plus snapshots that bound it.
///
/// Positions are consecutive from 1. `append` returns only once the entries
/// survive a crash (one sync for the whole batch: group commit).
pub trait Store: Send + Sync + 'static {
    /// Reads the newest snapshot and every entry after it.
    fn recover(&self) -> Result<Recovered, StoreError>;

    /// Appends a batch durably.
    fn append(&self, entries: &[(u64, Vec<u8>)]) -> Result<(), StoreError>;

    /// Stores the state as of log position `position` and drops the entries
    /// it covers.
    fn install_snapshot(&self, position: u64, state: &[u8]) -> Result<(), StoreError>;
}
