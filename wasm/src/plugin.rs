//! The plugin's exports: a core module with no imports, callable from any
//! WebAssembly runtime through `alloc`/`dealloc` and JSON in linear memory.
//!
//! Every operation export has the signature `(ptr: u32, len: u32) -> u64`:
//! it reads the request at `ptr..ptr+len` (still owned by the caller) and
//! returns `(answer_ptr << 32) | answer_len`, an allocation the caller owns
//! and frees with `dealloc(answer_ptr, answer_len)`. A panic is a trap.

use std::alloc::{alloc as raw_alloc, dealloc as raw_dealloc, Layout};

use crate::abi::{self, Op, ABI_VERSION};

#[no_mangle]
pub extern "C" fn caravan_abi_version() -> u32 {
    ABI_VERSION
}

/// Allocates `len` bytes for the caller (0 when out of memory).
#[no_mangle]
pub extern "C" fn alloc(len: u32) -> u32 {
    if len == 0 {
        // A non-null, never-dereferenced address, like `NonNull::dangling`.
        return 1;
    }
    match Layout::from_size_align(len as usize, 1) {
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { raw_alloc(layout) as u32 },
        Err(_) => 0,
    }
}

/// Frees what [`alloc`] or an operation returned.
#[no_mangle]
pub extern "C" fn dealloc(ptr: u32, len: u32) {
    if len == 0 || ptr == 0 {
        return;
    }
    if let Ok(layout) = Layout::from_size_align(len as usize, 1) {
        // SAFETY: the caller returns a block it received with this length.
        unsafe { raw_dealloc(ptr as *mut u8, layout) }
    }
}

fn run(op: Op, ptr: u32, len: u32) -> u64 {
    let request: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: the caller wrote `len` bytes at `ptr` (from `alloc`); a
        // range outside linear memory traps rather than reading garbage.
        unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) }
    };
    let answer = abi::call(op, request).into_boxed_slice();
    let answer_len = answer.len() as u64;
    let answer_ptr = Box::into_raw(answer) as *mut u8 as u64;
    (answer_ptr << 32) | answer_len
}

macro_rules! exports {
    ($($name:ident => $op:expr),* $(,)?) => {$(
        #[no_mangle]
        pub extern "C" fn $name(ptr: u32, len: u32) -> u64 {
            run($op, ptr, len)
        }
    )*};
}

exports! {
    validate => Op::Validate,
    diff => Op::Diff,
    plan => Op::Plan,
    simulate => Op::Simulate,
    dispatch => Op::Dispatch,
    next_launch => Op::NextLaunch,
    parse_hcl => Op::ParseHcl,
    plan_job => Op::PlanJob,
    schedule => Op::Schedule,
    eval_start => Op::EvalStart,
    eval_next => Op::EvalNext,
    eval_plan_applied => Op::EvalPlanApplied,
    state_load => Op::StateLoad,
    state_apply => Op::StateApply,
    state_plan_job => Op::StatePlanJob,
    state_eval_next => Op::StateEvalNext,
}
