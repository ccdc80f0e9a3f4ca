//! The global allocator of the `caravan` binary.

use std::alloc::{GlobalAlloc, Layout};

use caravan_server::mialloc::MiMalloc;

/// Every size up to a few pages, at every alignment up to 4 KiB, comes
/// back aligned, writable, and survives growing and shrinking.
#[test]
fn blocks_are_aligned_and_keep_their_bytes() {
    let a = MiMalloc;
    for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
        for size in (1..=300).chain([1000, 4095, 4096, 70_000]) {
            let layout = Layout::from_size_align(size, align).expect("layout");
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0, "size {size} align {align}");
                p.write_bytes(0xa5, size);
                let q = a.realloc(p, layout, size * 3);
                assert_eq!(q as usize % align, 0);
                assert_eq!(*q.add(size - 1), 0xa5);
                let grown = Layout::from_size_align(size * 3, align).expect("layout");
                let r = a.realloc(q, grown, size);
                assert_eq!(*r.add(size - 1), 0xa5);
                a.dealloc(r, layout);
                let z = a.alloc_zeroed(layout);
                assert_eq!(z as usize % align, 0);
                assert!((0..size).all(|i| *z.add(i) == 0));
                a.dealloc(z, layout);
            }
        }
    }
}
