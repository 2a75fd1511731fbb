//! Pure work over many independent items, spread over the machine's cores when the list is
//! long enough to pay for the threads.

use std::sync::OnceLock;

/// Items each thread takes at least: below this a thread costs more than it saves.
const ITEMS_PER_THREAD: usize = 256;

/// At most this many threads, however many cores there are.
const MAX_THREADS: usize = 8;

/// `f` of each item, in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = (items.len() / ITEMS_PER_THREAD).min(MAX_THREADS);
    // The cores are asked only for a list long enough to split.
    if threads < 2 || cores() < 2 {
        return items.iter().map(f).collect();
    }
    let threads = threads.min(cores());
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let mut chunks = items.chunks(chunk);
        let first = chunks.next().unwrap_or_default();
        let rest: Vec<_> = chunks
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out: Vec<R> = Vec::with_capacity(items.len());
        out.extend(first.iter().map(f));
        for handle in rest {
            match handle.join() {
                Ok(part) => out.extend(part),
                // A panic in `f` is the caller's, as it would be on one thread.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
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

    #[test]
    fn every_item_is_mapped_once_in_order() {
        for len in [0, 1, ITEMS_PER_THREAD - 1, ITEMS_PER_THREAD * 3 + 7, 10_000] {
            let items: Vec<usize> = (0..len).collect();
            let out = map(&items, |i| i * 2);
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn join_gives_each_result_in_its_place() {
        for split in [false, true] {
            assert_eq!(join(split, || "a", || "b"), ("a", "b"));
        }
    }
}
