//! The file store: the command log as append-only segment files made
//! durable with one `fdatasync` per batch, and the newest snapshot as one
//! file replaced atomically (write, sync, rename, sync the directory).
//!
//! Why not a database for the log: a log append is the whole durable cost
//! of a write, and a B-tree commit syncs more than the appended bytes.
//!
//! Layout under the data directory: `log/wal-<first position>.log` and
//! `snapshot`. A log record is `len u32 | crc32 u32 | position u64 | data`
//! (little-endian; the CRC covers the position and the data). A crash can
//! only tear the tail of the newest segment; recovery zeroes it there.
//!
//! Segments grow in zero-filled steps ahead of the records, so an append
//! overwrites blocks the file already has and its sync writes the data
//! alone, not the inode too: half the I/O of a growing file. Zeros after
//! the last record read as the end of the log.
//!
//! Where the filesystem allows it, appends are direct, synchronous writes
//! (`O_DIRECT | O_DSYNC`, see [`Direct`]): the records go to the disk
//! without the page cache and each write returns once the device has them,
//! which costs less CPU and time than a buffered write and its
//! `fdatasync`. Elsewhere (tmpfs, say) appends are buffered and synced.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Recovered, SnapshotBytes, Store, StoreError};

const SNAPSHOT_MAGIC: &[u8; 8] = b"CRVSNAP1";
/// Bytes before a snapshot's state: magic, position, length, checksum.
const SNAPSHOT_HEAD: usize = 28;
/// Bytes before a record's data.
const RECORD_HEAD: usize = 16;
/// Zeros added to a segment at a time, ahead of its records.
const GROW: u64 = 8 << 20;
/// The unit of a direct write: its offset, length and memory are aligned
/// to it (a multiple of the logical block size of any disk in use).
const BLOCK: u64 = 4096;

/// The command log and snapshot as plain files in the data directory.
pub struct FileStore {
    dir: PathBuf,
    log_dir: PathBuf,
    inner: Mutex<Active>,
    /// What `open` read, handed out by the first `recover`.
    opened: Mutex<Option<Recovered>>,
}

/// The segment appends go to, and the segments still on disk.
struct Active {
    file: File,
    /// Where the next record goes in `file`.
    offset: u64,
    /// `file`'s length (zeros from `offset` on).
    allocated: u64,
    /// `(first position, path)` of every segment, oldest first; the last
    /// one is `file`.
    segments: Vec<(u64, PathBuf)>,
    /// The position the next appended entry must have.
    next: u64,
    /// Direct writes to `file`, while the filesystem takes them.
    direct: Option<Direct>,
}

/// A segment's appends as direct, synchronous writes. A direct write
/// covers whole blocks, so the block the log ends in is kept here and
/// written again, its earlier bytes unchanged, in front of the next
/// records: a write torn by a crash can only lose the new bytes, as a
/// disk writes a sector whole or not at all.
struct Direct {
    file: File,
    /// The bytes of the block the log ends in, up to the end of the log.
    tail: Vec<u8>,
    /// Room for the bytes of a write, a block more than they need so that
    /// an aligned stretch of it can be used.
    room: Vec<u8>,
}

impl Direct {
    /// Opens `path` (the segment `file` is, whose log ends at `offset`)
    /// for direct writes, or `None` if the filesystem does not take them.
    fn open(path: &Path, file: &File, offset: u64) -> Option<Direct> {
        use std::os::unix::fs::OpenOptionsExt;
        let direct = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT | libc::O_DSYNC)
            .open(path)
            .ok()?;
        let start = offset - offset % BLOCK;
        let mut tail = vec![0; (offset - start) as usize];
        file.read_exact_at(&mut tail, start).ok()?;
        Some(Direct {
            file: direct,
            tail,
            room: Vec::new(),
        })
    }

    /// Writes `records` at `offset`, the end of the log, in blocks that
    /// the file already has, and waits for the device. `Ok(false)` when
    /// the filesystem refuses a direct write after all; the caller then
    /// writes `records` again at `offset` without it (a refused write
    /// leaves nothing or some of the same bytes behind).
    fn write(&mut self, records: &[u8], offset: u64) -> std::io::Result<bool> {
        let block = BLOCK as usize;
        let start = offset - offset % BLOCK;
        let used = self.tail.len() + records.len();
        let len = used.div_ceil(block) * block;
        if self.room.len() < len + block {
            self.room.resize(len + block, 0);
        }
        let shift = self.room.as_ptr().align_offset(block);
        let out = &mut self.room[shift..shift + len];
        out[..self.tail.len()].copy_from_slice(&self.tail);
        out[self.tail.len()..used].copy_from_slice(records);
        out[used..].fill(0);
        match self.file.write_all_at(out, start) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(false),
            written => written?,
        }
        let end = offset + records.len() as u64;
        let last_block = (end - end % BLOCK - start) as usize;
        self.tail.clear();
        self.tail.extend_from_slice(&out[last_block..used]);
        // A big batch's room is not kept for the small ones after it.
        if self.room.len() > 1 << 20 && self.room.len() > 4 * (len + block) {
            self.room = Vec::new();
        }
        Ok(true)
    }
}

fn err(what: &str, path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("{what} {}: {e}", path.display()))
}

fn segment_path(log_dir: &Path, first: u64) -> PathBuf {
    log_dir.join(format!("wal-{first:020}.log"))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| err("cannot sync directory", dir, e))
}

impl FileStore {
    /// Opens (or creates) the store in `dir`, reading what it holds and
    /// cutting a torn tail off the newest log segment.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, true)
    }

    /// [`FileStore::open`], with direct appends where the filesystem
    /// takes them (`direct_io`) or buffered ones and `fdatasync` always
    /// (the tests run both).
    fn open_with(dir: &Path, direct_io: bool) -> Result<Self, StoreError> {
        let log_dir = dir.join("log");
        std::fs::create_dir_all(&log_dir).map_err(|e| err("cannot create", &log_dir, e))?;
        let snapshot = read_snapshot(&dir.join("snapshot"))?;
        let mut segments = list_segments(&log_dir)?;
        let after = snapshot.as_ref().map_or(0, |(p, _)| *p);
        let mut entries = Vec::new();
        let mut last = after;
        let count = segments.len();
        let mut head = (0, 0);
        for (i, (first, path)) in segments.iter().enumerate() {
            let newest = i + 1 == count;
            let (records, good_len, file_len, clean_tail) = read_segment(path)?;
            if !clean_tail {
                if !newest {
                    return Err(err("corrupt log segment", path, "bad record"));
                }
                // A torn append: it was never acknowledged. Zero it so
                // later appends follow the last whole record and nothing
                // of it can be read as a record again.
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| err("cannot open", path, e))?;
                let zeros = vec![0u8; (file_len - good_len) as usize];
                f.write_all_at(&zeros, good_len)
                    .and_then(|_| f.sync_data())
                    .map_err(|e| err("cannot clear the torn tail of", path, e))?;
            }
            head = (good_len, file_len);
            let mut expect = *first;
            for (pos, data) in records {
                if pos != expect {
                    return Err(err(
                        "log segment out of order",
                        path,
                        format!("position {pos}, expected {expect}"),
                    ));
                }
                expect += 1;
                if pos > after {
                    if pos != last + 1 {
                        return Err(err("log gap before", path, format!("position {pos}")));
                    }
                    last = pos;
                    entries.push((pos, data));
                }
            }
            last = last.max(expect - 1);
        }
        let next = last + 1;
        let file = match segments.last() {
            Some((_, path)) => OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| err("cannot open", path, e))?,
            None => {
                let path = segment_path(&log_dir, next);
                let file = create_segment(&log_dir, &path)?;
                segments.push((next, path));
                head = (0, 0);
                file
            }
        };
        let direct = match segments.last() {
            Some((_, path)) if direct_io => Direct::open(path, &file, head.0),
            _ => None,
        };
        Ok(FileStore {
            dir: dir.to_path_buf(),
            log_dir,
            inner: Mutex::new(Active {
                file,
                offset: head.0,
                allocated: head.1,
                segments,
                next,
                direct,
            }),
            opened: Mutex::new(Some(Recovered { snapshot, entries })),
        })
    }
}

fn create_segment(log_dir: &Path, path: &Path) -> Result<File, StoreError> {
    let file = OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| err("cannot create", path, e))?;
    sync_dir(log_dir)?;
    Ok(file)
}

fn list_segments(log_dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut segments = Vec::new();
    let listing = std::fs::read_dir(log_dir).map_err(|e| err("cannot list", log_dir, e))?;
    for entry in listing {
        let entry = entry.map_err(|e| err("cannot list", log_dir, e))?;
        let name = entry.file_name();
        let Some(first) = name
            .to_str()
            .and_then(|n| n.strip_prefix("wal-"))
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        segments.push((first, entry.path()));
    }
    segments.sort();
    Ok(segments)
}

/// The whole records of a segment, the length they take, the file's
/// length, and whether everything after the records is zeros (else the
/// tail is torn).
type SegmentContents = (Vec<(u64, Vec<u8>)>, u64, u64, bool);

fn read_segment(path: &Path) -> Result<SegmentContents, StoreError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| err("cannot read", path, e))?;
    let mut records = Vec::new();
    let mut at = 0usize;
    while bytes.len() - at >= RECORD_HEAD {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap_or_default());
        let end = at + RECORD_HEAD + len;
        if (len == 0 && crc == 0)
            || end > bytes.len()
            || crc32fast::hash(&bytes[at + 8..end]) != crc
        {
            break;
        }
        let pos = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap_or_default());
        records.push((pos, bytes[at + RECORD_HEAD..end].to_vec()));
        at = end;
    }
    let clean = bytes[at..].iter().all(|b| *b == 0);
    Ok((records, at as u64, bytes.len() as u64, clean))
}

/// The snapshot file's state bytes, mapped (after its header and checksum
/// are checked), or `None` when there is no snapshot.
fn read_snapshot(path: &Path) -> Result<Option<(u64, SnapshotBytes)>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err("cannot open", path, e)),
    };
    let bad = || err("corrupt snapshot", path, "bad header or checksum");
    let size = file
        .metadata()
        .map_err(|e| err("cannot read", path, e))?
        .len();
    if size < SNAPSHOT_HEAD as u64 {
        return Err(bad());
    }
    let map = Mapped::new(&file, size, SNAPSHOT_HEAD).map_err(|e| err("cannot map", path, e))?;
    let head = map.head();
    if &head[..8] != SNAPSHOT_MAGIC {
        return Err(bad());
    }
    let position = u64::from_le_bytes(head[8..16].try_into().map_err(|_| bad())?);
    let len = u64::from_le_bytes(head[16..24].try_into().map_err(|_| bad())?);
    let crc = u32::from_le_bytes(head[24..SNAPSHOT_HEAD].try_into().map_err(|_| bad())?);
    if size != SNAPSHOT_HEAD as u64 + len || crc32fast::hash(&map) != crc {
        return Err(bad());
    }
    Ok(Some((position, SnapshotBytes::Mapped(map))))
}

/// A file mapped read-only, seen from `skip` bytes on.
///
/// The snapshot file is never written in place (a new one is renamed over
/// it), so the mapped bytes cannot change while they are read.
pub struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
    skip: usize,
}

// Read-only memory: shared between threads like a `&[u8]`.
unsafe impl Send for Mapped {}
unsafe impl Sync for Mapped {}

impl Mapped {
    fn new(file: &File, size: u64, skip: usize) -> std::io::Result<Self> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(size).map_err(|_| std::io::ErrorKind::InvalidInput)?;
        if len < skip || len == 0 {
            return Err(std::io::ErrorKind::InvalidInput.into());
        }
        // SAFETY: a fresh private read-only mapping of `len` bytes of an
        // open file; the pointer is checked below and unmapped on drop.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `ptr` is a mapping of `len` bytes. Only a hint.
        unsafe { libc::madvise(ptr, len, libc::MADV_WILLNEED) };
        Ok(Mapped { ptr, len, skip })
    }

    /// The bytes before `skip`.
    fn head(&self) -> &[u8] {
        // SAFETY: the mapping is `len >= skip` readable bytes.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.skip) }
    }
}

impl std::ops::Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the mapping is `len >= skip` readable bytes, alive
        // until drop.
        unsafe {
            std::slice::from_raw_parts((self.ptr as *const u8).add(self.skip), self.len - self.skip)
        }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

impl Store for FileStore {
    fn recover(&self) -> Result<Recovered, StoreError> {
        if let Some(r) = self.opened.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Ok(r);
        }
        // Called again: read the files afresh (nothing is being appended
        // while a caller recovers).
        let snapshot = read_snapshot(&self.dir.join("snapshot"))?;
        let after = snapshot.as_ref().map_or(0, |(p, _)| *p);
        let mut entries = Vec::new();
        for (_, path) in list_segments(&self.log_dir)? {
            let (records, _, _, _) = read_segment(&path)?;
            entries.extend(records.into_iter().filter(|(p, _)| *p > after));
        }
        Ok(Recovered { snapshot, entries })
    }

    fn append(&self, entries: &[(u64, Vec<u8>)]) -> Result<(), StoreError> {
        let mut active = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let size: usize = entries.iter().map(|(_, d)| RECORD_HEAD + d.len()).sum();
        let mut buf = Vec::with_capacity(size);
        let mut next = active.next;
        for (pos, data) in entries {
            if *pos != next {
                return Err(StoreError(format!(
                    "append at position {pos}, expected {next}"
                )));
            }
            let len = u32::try_from(data.len())
                .map_err(|_| StoreError(format!("log entry {pos} is too large")))?;
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&pos.to_le_bytes());
            hasher.update(data);
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(&hasher.finalize().to_le_bytes());
            buf.extend_from_slice(&pos.to_le_bytes());
            buf.extend_from_slice(data);
            next += 1;
        }
        let end = active.offset + buf.len() as u64;
        let io = |e: std::io::Error| StoreError(format!("cannot append to the log: {e}"));
        let offset = active.offset;
        if end > active.allocated {
            // Grow in zeros first; the sync that follows also covers the
            // new length, the later ones only overwrite.
            let grown = end.div_ceil(GROW) * GROW;
            let zeros = vec![0u8; (grown - active.allocated) as usize];
            active
                .file
                .write_all_at(&zeros, active.allocated)
                .map_err(io)?;
            if active.direct.is_some() {
                // A direct write syncs only what it writes.
                active.file.sync_data().map_err(io)?;
            }
            active.allocated = grown;
        }
        let direct = match active.direct.as_mut() {
            Some(direct) => direct.write(&buf, offset).map_err(io)?,
            None => false,
        };
        if !direct {
            active.direct = None;
            active
                .file
                .write_all_at(&buf, offset)
                .and_then(|_| active.file.sync_data())
                .map_err(io)?;
        }
        active.offset = end;
        active.next = next;
        Ok(())
    }

    fn install_snapshot(&self, position: u64, state: &[u8]) -> Result<(), StoreError> {
        let path = self.dir.join("snapshot");
        let tmp = self.dir.join("snapshot.tmp");
        let mut head = Vec::with_capacity(SNAPSHOT_HEAD);
        head.extend_from_slice(SNAPSHOT_MAGIC);
        head.extend_from_slice(&position.to_le_bytes());
        head.extend_from_slice(&(state.len() as u64).to_le_bytes());
        head.extend_from_slice(&crc32fast::hash(state).to_le_bytes());
        File::create(&tmp)
            .and_then(|mut f| {
                use std::io::Write;
                f.write_all(&head)?;
                f.write_all(state)?;
                f.sync_all()
            })
            .map_err(|e| err("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| err("cannot rename", &tmp, e))?;
        sync_dir(&self.dir)?;

        // Later appends go to a new segment; segments wholly covered by the
        // snapshot go.
        let mut active = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let next = active.next;
        if active
            .segments
            .last()
            .is_some_and(|(first, _)| *first < next)
        {
            let new = segment_path(&self.log_dir, next);
            active.file = create_segment(&self.log_dir, &new)?;
            active.offset = 0;
            active.allocated = 0;
            if active.direct.is_some() {
                active.direct = Direct::open(&new, &active.file, 0);
            }
            active.segments.push((next, new));
        }
        // Each segment whose successor starts at or before `position + 1`
        // is covered; one that cannot be removed stays listed (and is
        // tried again after the next snapshot).
        let firsts: Vec<u64> = active.segments.iter().map(|(f, _)| *f).skip(1).collect();
        let mut failed = None;
        let mut i = 0;
        active.segments.retain(|(_, seg)| {
            let covered = firsts.get(i).is_some_and(|succ| succ - 1 <= position);
            i += 1;
            if !covered || failed.is_some() {
                return true;
            }
            match std::fs::remove_file(seg) {
                Ok(()) => false,
                Err(e) => {
                    failed = Some(err("cannot remove", seg, e));
                    true
                }
            }
        });
        failed.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("randomness");
        let dir = std::env::temp_dir().join(format!(
            "caravan-filestore-{name}-{}",
            u64::from_le_bytes(bytes)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn snapshot_of(r: &Recovered) -> Option<(u64, Vec<u8>)> {
        r.snapshot.as_ref().map(|(p, b)| (*p, b.to_vec()))
    }

    #[test]
    fn appended_entries_and_snapshots_survive_reopen() {
        let dir = temp_dir("reopen");
        {
            let store = FileStore::open(&dir).expect("open");
            store
                .append(&[(1, b"a".to_vec()), (2, b"b".to_vec())])
                .expect("append");
            store.append(&[(3, b"c".to_vec())]).expect("append");
        }
        let store = FileStore::open(&dir).expect("reopen");
        let r = store.recover().expect("recover");
        assert!(r.snapshot.is_none());
        assert_eq!(
            r.entries,
            vec![(1, b"a".to_vec()), (2, b"b".to_vec()), (3, b"c".to_vec())]
        );
        store.install_snapshot(2, b"state@2").expect("snapshot");
        store.append(&[(4, b"d".to_vec())]).expect("append");
        drop(store);
        let store = FileStore::open(&dir).expect("reopen");
        let r = store.recover().expect("recover");
        assert_eq!(snapshot_of(&r), Some((2, b"state@2".to_vec())));
        assert_eq!(r.entries, vec![(3, b"c".to_vec()), (4, b"d".to_vec())]);
        // A later snapshot drops the segments it covers.
        store.install_snapshot(4, b"state@4").expect("snapshot");
        store.append(&[(5, b"e".to_vec())]).expect("append");
        assert_eq!(list_segments(&dir.join("log")).expect("list").len(), 1);
        drop(store);
        let r = FileStore::open(&dir)
            .expect("reopen")
            .recover()
            .expect("recover");
        assert_eq!(snapshot_of(&r), Some((4, b"state@4".to_vec())));
        assert_eq!(r.entries, vec![(5, b"e".to_vec())]);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_torn_tail_is_cleared_and_appends_continue() {
        let dir = temp_dir("torn");
        {
            let store = FileStore::open(&dir).expect("open");
            store
                .append(&[(1, b"one".to_vec()), (2, b"two".to_vec())])
                .expect("append");
        }
        let (_, seg) = list_segments(&dir.join("log"))
            .expect("list")
            .pop()
            .expect("one segment");
        // The second record's last bytes did not reach the disk (records
        // take 16 + 3 bytes each here).
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .and_then(|f| f.write_all_at(&[0xff, 0xff], 19 + 17))
            .expect("tear");
        let store = FileStore::open(&dir).expect("reopen");
        assert_eq!(
            store.recover().expect("recover").entries,
            vec![(1, b"one".to_vec())]
        );
        store.append(&[(2, b"again".to_vec())]).expect("append");
        drop(store);
        let r = FileStore::open(&dir)
            .expect("reopen")
            .recover()
            .expect("recover");
        assert_eq!(
            r.entries,
            vec![(1, b"one".to_vec()), (2, b"again".to_vec())]
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    /// Whether `dir`'s filesystem opens files for direct I/O.
    fn takes_direct_io(dir: &Path) -> bool {
        use std::os::unix::fs::OpenOptionsExt;
        let probe = dir.join("probe");
        let opened = OpenOptions::new()
            .create(true)
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(&probe)
            .is_ok();
        let _ = std::fs::remove_file(&probe);
        opened
    }

    #[test]
    fn direct_and_buffered_appends_read_back_alike() {
        let dir = temp_dir("direct");
        let direct_here = takes_direct_io(&dir);
        // Records of 17 to ~1 KiB bytes, so batches end anywhere in a
        // block and cross blocks; one of 10 KiB spans several.
        let entry = |pos: u64| {
            let len = if pos == 40 {
                10_000
            } else {
                (pos * 37 % 1000) as usize + 1
            };
            (
                pos,
                (0..len)
                    .map(|i| (pos as usize + i) as u8)
                    .collect::<Vec<u8>>(),
            )
        };
        let mut all = Vec::new();
        let mut pos = 1;
        // Each round reopens the store, alternating direct and buffered
        // appends to the same segment.
        for (round, direct_io) in [true, false, true, true].into_iter().enumerate() {
            let store = FileStore::open_with(&dir, direct_io).expect("open");
            assert_eq!(
                store.recover().expect("recover").entries,
                all,
                "round {round}"
            );
            for batch in 1..=8 {
                let entries: Vec<_> = (0..batch).map(|i| entry(pos + i)).collect();
                store.append(&entries).expect("append");
                pos += batch;
                all.extend(entries);
            }
            let active = store.inner.lock().expect("lock");
            assert_eq!(
                active.direct.is_some(),
                direct_io && direct_here,
                "round {round}"
            );
        }
        let r = FileStore::open(&dir)
            .expect("reopen")
            .recover()
            .expect("recover");
        assert_eq!(r.entries.len(), 4 * 36);
        assert_eq!(r.entries, all);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn direct_appends_grow_the_segment_and_follow_a_snapshot() {
        let dir = temp_dir("grow");
        let big = |pos: u64| (pos, vec![pos as u8; 3 << 20]);
        {
            let store = FileStore::open(&dir).expect("open");
            // 12 MiB of records: the segment grows past its first 8 MiB.
            for pos in 1..=4 {
                store.append(&[big(pos)]).expect("append");
            }
            store.install_snapshot(3, b"state@3").expect("snapshot");
            // The next appends go to a new segment, direct again.
            store
                .append(&[(5, b"five".to_vec()), (6, b"six".to_vec())])
                .expect("append");
            let active = store.inner.lock().expect("lock");
            assert_eq!(active.direct.is_some(), takes_direct_io(&dir));
            assert_eq!(active.offset, 2 * RECORD_HEAD as u64 + 7);
        }
        let r = FileStore::open(&dir)
            .expect("reopen")
            .recover()
            .expect("recover");
        assert_eq!(snapshot_of(&r), Some((3, b"state@3".to_vec())));
        assert_eq!(
            r.entries,
            vec![big(4), (5, b"five".to_vec()), (6, b"six".to_vec())]
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn appends_must_follow_on() {
        let dir = temp_dir("order");
        let store = FileStore::open(&dir).expect("open");
        assert!(store.append(&[(2, b"x".to_vec())]).is_err());
        store.append(&[(1, b"x".to_vec())]).expect("append");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
