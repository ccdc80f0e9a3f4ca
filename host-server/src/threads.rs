//! The server's [`Fork`]: one long-lived helper thread that runs the
//! second half of a split while the request's own thread runs the first.
//!
//! The helper is a single thread on purpose: the halves of one request's
//! steps (decoding, preparing, diffing, encoding and freeing its task
//! groups) land on the same thread each time, so what it allocated is
//! mostly freed there too, and its allocator heap stays warm (a thread per
//! split would start each time with an empty heap and leave it abandoned).
//! When the helper is busy with another request's half, or a half asks to
//! split again, both halves simply run on the calling thread.

use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use caravan_core::fork::Fork;

/// Splits over the helper thread when it is free.
#[derive(Debug, Clone, Copy, Default)]
pub struct Threads;

/// A second half, with its borrows erased (see the SAFETY note in `join`).
type Task = Box<dyn FnOnce() + Send + 'static>;

struct Helper {
    tasks: Mutex<Sender<Task>>,
    /// Set while a half is handed over and not yet finished.
    busy: AtomicBool,
}

thread_local! {
    static ON_HELPER: Cell<bool> = const { Cell::new(false) };
}

/// The helper thread, started on first use; `None` if it could not be.
fn helper() -> Option<&'static Helper> {
    static HELPER: OnceLock<Option<Helper>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let (send, receive) = channel::<Task>();
            std::thread::Builder::new()
                .name("caravan-fork".into())
                .spawn(move || {
                    ON_HELPER.with(|h| h.set(true));
                    receive.into_iter().for_each(|task| task());
                })
                .ok()?;
            Some(Helper {
                tasks: Mutex::new(send),
                busy: AtomicBool::new(false),
            })
        })
        .as_ref()
}

/// What a handed-over half leaves behind: its result, once it is over.
/// Shared (not borrowed), so that the helper may still touch it after the
/// caller has seen the result and gone on.
struct Outcome<B> {
    result: Mutex<Option<std::thread::Result<B>>>,
    signal: Condvar,
}

impl<B> Outcome<B> {
    fn finish(&self, result: std::thread::Result<B>) {
        let mut slot = self.result.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(result);
        self.signal.notify_one();
    }

    fn wait(&self) -> std::thread::Result<B> {
        let mut slot = self.result.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(result) = slot.take() {
                return result;
            }
            slot = self.signal.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Fork for Threads {
    fn join<A: Send, B: Send>(
        &self,
        a: impl FnOnce() -> A + Send,
        b: impl FnOnce() -> B + Send,
    ) -> (A, B) {
        let helper = match helper() {
            Some(h) if !ON_HELPER.with(Cell::get) => h,
            _ => return (a(), b()),
        };
        if helper.busy.swap(true, Ordering::Acquire) {
            return (a(), b());
        }
        let outcome = Arc::new(Outcome {
            result: Mutex::new(None),
            signal: Condvar::new(),
        });
        let theirs = outcome.clone();
        let half: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
            theirs.finish(catch_unwind(AssertUnwindSafe(b)));
        });
        // SAFETY: `half` owns `b`, which may borrow from the caller's
        // frames, so its lifetime is erased to hand it to the helper. `b`
        // is consumed (run or dropped) before `finish` stores its result,
        // and this function neither returns nor unwinds before it has taken
        // that result (`a`'s panic is caught and passed on after the
        // wait). If the helper is gone, the task comes back and runs here.
        let half: Task =
            unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Task>(half) };
        let sent = helper
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(half);
        if let Err(unsent) = sent {
            (unsent.0)();
        }
        let a = catch_unwind(AssertUnwindSafe(a));
        let b = outcome.wait();
        helper.busy.store(false, Ordering::Release);
        match (a, b) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(panic), _) | (_, Err(panic)) => resume_unwind(panic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_run_on_two_threads_and_come_back_in_order() {
        let here = std::thread::current().id();
        let (a, b) = Threads.join(
            || (1, std::thread::current().id()),
            || (2, std::thread::current().name().map(String::from)),
        );
        assert_eq!((a.0, b.0), (1, 2));
        assert_eq!(a.1, here);
        assert_eq!(b.1.as_deref(), Some("caravan-fork"));
    }

    #[test]
    fn a_split_inside_a_half_runs_where_it_is() {
        let (_, inner) = Threads.join(
            || (),
            || {
                Threads.join(
                    || std::thread::current().name().map(String::from),
                    || std::thread::current().name().map(String::from),
                )
            },
        );
        assert_eq!(inner.0.as_deref(), Some("caravan-fork"));
        assert_eq!(inner.1.as_deref(), Some("caravan-fork"));
    }

    #[test]
    fn halves_borrow_from_the_caller() {
        let items: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        let (head, tail) = items.split_at(500);
        let (a, b) = Threads.join(
            || head.iter().map(String::len).sum::<usize>(),
            || tail.iter().map(String::len).sum::<usize>(),
        );
        assert_eq!(a + b, items.iter().map(String::len).sum::<usize>());
    }

    #[test]
    fn a_panic_in_either_half_reaches_the_caller_and_the_helper_survives() {
        let second = catch_unwind(|| Threads.join(|| 1, || -> u8 { panic!("second half") }));
        let panic = second.expect_err("the panic reaches the caller");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"second half"));
        let first = catch_unwind(|| Threads.join(|| -> u8 { panic!("first half") }, || 2));
        let panic = first.expect_err("the panic reaches the caller");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"first half"));
        assert_eq!(Threads.join(|| 3, || 4), (3, 4));
    }
}
