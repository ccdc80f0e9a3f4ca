//! mimalloc as the global allocator, asked for plain blocks whenever the
//! alignment allows.
//!
//! The `mimalloc` crate hands every request to `mi_malloc_aligned`. In
//! mimalloc 2.2 and 3.3 that call leaves its fast path whenever the size
//! class's current page has no free block, and then, for a size that is
//! not a power of two (a 104-byte struct, a 40-byte string), over-allocates
//! from a bigger size class: such sizes never get pages of their own, so
//! nearly every one of them takes the slow path. mimalloc's block sizes
//! are whole words and its pages start 16-aligned, so every block is
//! word-aligned: up to that alignment `mi_malloc` is enough, and it always
//! has its fast path. The core's benches include this file, so they
//! allocate as the `caravan` binary does.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment every mimalloc block has.
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc, through `mi_malloc` for alignments up to a word.
pub struct MiMalloc;

// SAFETY: each call forwards to mimalloc, which returns blocks of at least
// the requested size, aligned to a word by construction (`mi_malloc`) or to
// the requested alignment (`mi_*_aligned`), or null on failure; `mi_free`
// and `mi_realloc*` accept any block mimalloc returned.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = if layout.align() <= WORD {
            unsafe { mi::mi_malloc(layout.size()) }
        } else {
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()) }
        };
        p.cast()
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = if layout.align() <= WORD {
            unsafe { mi::mi_zalloc(layout.size()) }
        } else {
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()) }
        };
        p.cast()
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = if layout.align() <= WORD {
            unsafe { mi::mi_realloc(ptr.cast::<c_void>(), new_size) }
        } else {
            unsafe { mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()) }
        };
        p.cast()
    }
}
