//! The ideal registration server for W1 (../shared/perf register_bench.py):
//! answers every request on one thread with a canned register response and
//! does nothing else, except (with a file) one 4 KiB `O_DIRECT | O_DSYNC`
//! write per request over blocks written before, as a durable log's append
//! at its least. What W1 measures against it is the client and the disk
//! alone: the bound for any server that syncs once per registration.
//!
//! Build and run (nothing else on the machine):
//!     rustc -O -o /tmp/ideal-server scripts/ideal-server.rs
//!     dd if=/dev/zero of=/var/tmp/ideal.log bs=1M count=64 conv=fsync
//!     /tmp/ideal-server 4820 /var/tmp/ideal.log &   # or without the file
//!     python3 ../shared/perf/register_bench.py --addr http://127.0.0.1:4820 \
//!         --count 2000 --concurrency 1 --warmup 20
//! Stop it by PID when done.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{FileExt, OpenOptionsExt};

const O_DIRECT: i32 = 0o40000;
const O_DSYNC: i32 = 0o10000;
const BLOCK: usize = 4096;
/// Blocks of the file written in turn (64 MiB).
const BLOCKS: u64 = 16_384;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args
        .get(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: ideal-server PORT [FILE]");
    let mut log = args.get(2).map(|path| {
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(O_DIRECT | O_DSYNC)
            .open(path)
            .expect("open the log file (made beforehand with dd)")
    });
    let body = br#"{"EvalID":"5b6c2a7e-0000-4000-8000-000000000000","EvalCreateIndex":12,"JobModifyIndex":12,"Warnings":"","Index":12,"LastContact":0,"KnownLeader":false}"#;
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Nomad-Index: 12\r\nDate: Sun, 29 Nov 2026 04:00:00 GMT\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    // An aligned block for direct writes.
    let mut raw = vec![0u8; 2 * BLOCK];
    let at = raw.as_ptr().align_offset(BLOCK);
    let block = &mut raw[at..at + BLOCK];
    let mut written: u64 = 0;
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        stream.set_nodelay(true).expect("nodelay");
        let mut pending = Vec::new();
        while let Some(()) = next_request(&mut stream, &mut pending) {
            if let Some(file) = log.as_mut() {
                block[..8].copy_from_slice(&written.to_le_bytes());
                file.write_all_at(block, (written % BLOCKS) * BLOCK as u64)
                    .expect("append");
                written += 1;
            }
            if stream.write_all(&response).is_err() {
                break;
            }
        }
    }
}

/// Reads one request (headers and `Content-Length` body) into `buf`,
/// which keeps what came after it; `None` at EOF.
fn next_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                buf.drain(..end + 4 + length);
                return Some(());
            }
        }
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
}
