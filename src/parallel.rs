//! Pure work over many independent items, spread over the machine's cores when the list is
//! long enough to pay for the threads.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Items each thread takes at least: below this a thread costs more than it saves.
const ITEMS_PER_THREAD: usize = 256;

/// At most this many threads, however many cores there are.
const MAX_THREADS: usize = 8;

/// Blocks each thread's share is cut into: a thread that drew cheap items takes more blocks,
/// so that none waits long on another (neighbouring items tend to cost alike: a planner's
/// wave is in name order, so one kind after another).
const BLOCKS_PER_THREAD: usize = 8;

/// Whether work over `items` items is worth a second thread (as [`map`] splits it).
pub fn splits(items: usize) -> bool {
    // The cores are asked only for a list long enough to split.
    items / ITEMS_PER_THREAD >= 2 && cores() > 1
}

/// `f` of each item, in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if !splits(items.len()) {
        return items.iter().map(f).collect();
    }
    let threads = (items.len() / ITEMS_PER_THREAD).min(MAX_THREADS);
    let threads = threads.min(cores());
    let blocks: Vec<&[T]> = items
        .chunks(items.len().div_ceil(threads * BLOCKS_PER_THREAD))
        .collect();
    let next = AtomicUsize::new(0);
    // Takes the next block not taken until none is left: (block number, results) of each.
    let work = || {
        let mut done = Vec::new();
        loop {
            let taken = next.fetch_add(1, Ordering::Relaxed);
            let Some(block) = blocks.get(taken) else {
                break;
            };
            done.push((taken, block.iter().map(&f).collect::<Vec<R>>()));
        }
        done
    };
    let mut parts: Vec<(usize, Vec<R>)> = std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut parts = work();
        for helper in helpers {
            match helper.join() {
                Ok(more) => parts.extend(more),
                // A panic in `f` is the caller's, as it would be on one thread.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        parts
    });
    parts.sort_unstable_by_key(|(block, _)| *block);
    let mut out = Vec::with_capacity(items.len());
    for (_, part) in parts {
        out.extend(part);
    }
    out
}

/// `a` and `b`: with `split` (work large enough to pay for a thread), `a` on a second thread
/// while `b` runs on this one; else `a`, then `b`, here.
pub fn join<RA: Send, RB>(
    split: bool,
    a: impl FnOnce() -> RA + Send,
    b: impl FnOnce() -> RB,
) -> (RA, RB) {
    if !split {
        let ra = a();
        return (ra, b());
    }
    std::thread::scope(|s| {
        let a = s.spawn(a);
        let rb = b();
        match a.join() {
            Ok(ra) => (ra, rb),
            // A panic in `a` is the caller's, as it would be on one thread.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The cores this process may use, asked once: the answer reads files on Linux.
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    #[test]
    fn every_item_is_mapped_once_in_order() {
        for len in [0, 1, ITEMS_PER_THREAD - 1, ITEMS_PER_THREAD * 3 + 7, 10_000] {
            let items: Vec<usize> = (0..len).collect();
            let out = map(&items, |i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn results_come_back_in_order_when_the_blocks_finish_out_of_order() {
        // The thread with the first item waits until another thread is mapping, whose items
        // are then slow: the first thread takes the later blocks while the other is still on
        // an earlier one, so the blocks finish out of order.
        let first = OnceLock::new();
        let elsewhere = AtomicBool::new(false);
        let items: Vec<usize> = (0..ITEMS_PER_THREAD * 4).collect();
        let out = map(&items, |&i| {
            let here = std::thread::current().id();
            // One core: one thread, and nothing to wait for.
            if i == 0 && cores() > 1 {
                first.get_or_init(|| here);
                let deadline = Instant::now() + Duration::from_secs(10);
                while !elsewhere.load(Ordering::Relaxed) && Instant::now() < deadline {
                    std::thread::yield_now();
                }
            } else if first.get().is_some_and(|t| *t != here) {
                elsewhere.store(true, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_panic_in_any_block_is_the_callers() {
        let items: Vec<usize> = (0..ITEMS_PER_THREAD * 4).collect();
        for bad in [0, items.len() - 1] {
            let result = std::panic::catch_unwind(|| {
                map(&items, |&i| {
                    assert_ne!(i, bad, "item {bad}");
                    i
                })
            });
            assert!(result.is_err(), "item {bad}");
        }
    }

    #[test]
    fn join_gives_each_result_in_its_place() {
        for split in [false, true] {
            assert_eq!(join(split, || "a", || "b"), ("a", "b"));
        }
    }
}
