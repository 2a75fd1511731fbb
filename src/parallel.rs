//! Pure work over many independent items, spread over the machine's cores when the list is
//! long enough to pay for the threads.

use std::sync::OnceLock;

/// Items each thread takes at least: below this a thread costs more than it saves.
const ITEMS_PER_THREAD: usize = 256;

/// At most this many threads, however many cores there are.
const MAX_THREADS: usize = 8;

/// `f` of each item, in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = (items.len() / ITEMS_PER_THREAD).clamp(1, MAX_THREADS);
    let threads = if threads == 1 {
        1
    } else {
        threads.min(cores())
    };
    if threads == 1 {
        return items.iter().map(f).collect();
    }
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
}
