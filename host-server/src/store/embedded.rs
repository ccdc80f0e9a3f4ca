//! The embedded store: one redb file in the data directory holding the log
//! table and the newest snapshot.

use std::path::Path;

use redb::{Database, ReadableDatabase, TableDefinition};

use super::{Recovered, SnapshotBytes, Store, StoreError};

const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const SNAPSHOT: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshot");
const SNAPSHOT_POSITION: TableDefinition<&str, u64> = TableDefinition::new("snapshot_position");

/// The command log and snapshot in `<data-dir>/caravan.redb`.
pub struct RedbStore {
    db: Database,
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl RedbStore {
    /// Opens (or creates) the store file inside `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(err)?;
        let db = Database::create(dir.join("caravan.redb")).map_err(err)?;
        // Create the tables up front so reads never meet a missing table.
        let txn = db.begin_write().map_err(err)?;
        txn.open_table(LOG).map_err(err)?;
        txn.open_table(SNAPSHOT).map_err(err)?;
        txn.open_table(SNAPSHOT_POSITION).map_err(err)?;
        txn.commit().map_err(err)?;
        Ok(RedbStore { db })
    }
}

impl Store for RedbStore {
    fn recover(&self) -> Result<Recovered, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let positions = txn.open_table(SNAPSHOT_POSITION).map_err(err)?;
        let snapshots = txn.open_table(SNAPSHOT).map_err(err)?;
        let snapshot = match positions.get("state").map_err(err)? {
            Some(pos) => {
                let pos = pos.value();
                let bytes = snapshots
                    .get("state")
                    .map_err(err)?
                    .ok_or_else(|| StoreError("snapshot position without snapshot".into()))?
                    .value()
                    .to_vec();
                Some((pos, SnapshotBytes::Owned(bytes)))
            }
            None => None,
        };
        let after = snapshot.as_ref().map_or(0, |(p, _)| *p);
        let log = txn.open_table(LOG).map_err(err)?;
        let mut entries = Vec::new();
        for item in log.range(after + 1..).map_err(err)? {
            let (k, v) = item.map_err(err)?;
            entries.push((k.value(), v.value().to_vec()));
        }
        Ok(Recovered { snapshot, entries })
    }

    fn append(&self, entries: &[(u64, Vec<u8>)]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(err)?;
        {
            let mut log = txn.open_table(LOG).map_err(err)?;
            for (pos, bytes) in entries {
                log.insert(*pos, bytes.as_slice()).map_err(err)?;
            }
        }
        txn.commit().map_err(err)
    }

    fn install_snapshot(&self, position: u64, state: &[u8]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(err)?;
        {
            let mut snapshots = txn.open_table(SNAPSHOT).map_err(err)?;
            snapshots.insert("state", state).map_err(err)?;
            let mut positions = txn.open_table(SNAPSHOT_POSITION).map_err(err)?;
            positions.insert("state", position).map_err(err)?;
            let mut log = txn.open_table(LOG).map_err(err)?;
            log.retain_in(..=position, |_, _| false).map_err(err)?;
        }
        txn.commit().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("randomness");
        let dir = std::env::temp_dir().join(format!(
            "caravan-store-{name}-{}",
            u64::from_le_bytes(bytes)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn appended_entries_and_snapshots_survive_reopen() {
        let dir = temp_dir("reopen");
        {
            let store = RedbStore::open(&dir).expect("open");
            store
                .append(&[(1, b"a".to_vec()), (2, b"b".to_vec())])
                .expect("append");
            store.append(&[(3, b"c".to_vec())]).expect("append");
        }
        let store = RedbStore::open(&dir).expect("reopen");
        let r = store.recover().expect("recover");
        assert!(r.snapshot.is_none());
        assert_eq!(
            r.entries,
            vec![(1, b"a".to_vec()), (2, b"b".to_vec()), (3, b"c".to_vec())]
        );
        store.install_snapshot(2, b"state@2").expect("snapshot");
        store.append(&[(4, b"d".to_vec())]).expect("append");
        drop(store);
        let r = RedbStore::open(&dir)
            .expect("reopen")
            .recover()
            .expect("recover");
        assert_eq!(
            r.snapshot.as_ref().map(|(p, b)| (*p, b.to_vec())),
            Some((2, b"state@2".to_vec()))
        );
        assert_eq!(r.entries, vec![(3, b"c".to_vec()), (4, b"d".to_vec())]);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
