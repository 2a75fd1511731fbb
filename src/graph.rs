//! The dependency graph: cycle reports for validation, a dependency order for the planner,
//! and a ready-queue walk for apply.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use foldhash::HashMap as FastMap;

/// Finds one dependency cycle, returned as the path `a -> b -> ... -> a`.
///
/// Dependencies on nodes that are not in the graph are ignored (validation reports those).
pub fn find_cycle<'a>(nodes: impl Iterator<Item = (&'a str, &'a [String])>) -> Option<Vec<String>> {
    let mut nodes: Vec<(&str, &[String])> = nodes.collect();
    // Searched from in name order, so that which cycle is reported does not depend on the
    // file's order. A blueprint's resources mostly come sorted already.
    if !nodes.is_sorted_by(|a, b| a.0 <= b.0) {
        nodes.sort_by(|a, b| a.0.cmp(b.0));
    }
    // A name given twice keeps its last edges, as a map would.
    nodes.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            *earlier = *later;
        }
        same
    });
    let index: FastMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (*n, i))
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    let mut marks = vec![Mark::New; nodes.len()];
    // Iterative DFS with an explicit path, so deep chains in hostile input cannot overflow the stack.
    for start in 0..nodes.len() {
        if marks[start] != Mark::New {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::Visiting;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            if let Some(dep) = nodes[node].1.get(*next) {
                *next += 1;
                let Some(&dep) = index.get(dep.as_str()) else {
                    continue;
                };
                match marks[dep] {
                    Mark::Visiting => {
                        let from = path.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        let mut cycle: Vec<String> = path[from..]
                            .iter()
                            .map(|(n, _)| nodes[*n].0.to_string())
                            .collect();
                        cycle.push(nodes[dep].0.to_string());
                        return Some(cycle);
                    }
                    Mark::Done => {}
                    Mark::New => {
                        marks[dep] = Mark::Visiting;
                        path.push((dep, 0));
                    }
                }
            } else {
                marks[node] = Mark::Done;
                path.pop();
            }
        }
    }
    None
}

/// The nodes (by index) in waves where each follows its prerequisites: the nodes waiting on
/// nothing first, then those waiting only on the first wave, and so on, each wave in name
/// order, as a [`Walk`] hands them out. No node of a wave waits on another of it.
/// Prerequisites outside the graph are ignored; nodes on a cycle never become ready and come
/// last, in name order, each a wave of its own.
pub fn waves(nodes: &[(&str, &[String])]) -> Vec<Vec<usize>> {
    let index: FastMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (*n, i))
        .collect();
    let mut waiting = vec![0usize; nodes.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, (_, prereqs)) in nodes.iter().enumerate() {
        let mut on: Vec<usize> = prereqs
            .iter()
            .filter_map(|p| index.get(p.as_str()).copied())
            .filter(|&p| p != i)
            .collect();
        on.sort_unstable();
        on.dedup();
        waiting[i] = on.len();
        for p in on {
            dependents[p].push(i);
        }
    }
    let mut order = Vec::new();
    let mut wave: Vec<usize> = (0..nodes.len()).filter(|&i| waiting[i] == 0).collect();
    while !wave.is_empty() {
        wave.sort_unstable_by_key(|&i| nodes[i].0);
        let mut next = Vec::new();
        for &i in &wave {
            for &d in &dependents[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    next.push(d);
                }
            }
        }
        order.push(wave);
        wave = next;
    }
    let mut stuck: Vec<usize> = (0..nodes.len()).filter(|&i| waiting[i] > 0).collect();
    stuck.sort_unstable_by_key(|&i| nodes[i].0);
    order.extend(stuck.into_iter().map(|i| vec![i]));
    order
}

/// A walk over a DAG that hands out nodes whose prerequisites are all done.
#[derive(Debug)]
pub struct Walk {
    /// For each node, the prerequisites not yet done.
    waiting_on: BTreeMap<String, BTreeSet<String>>,
    /// For each node, the nodes that wait for it.
    dependents: HashMap<String, Vec<String>>,
    started: HashSet<String>,
    /// Nodes waiting on nothing that were not handed out yet, so that handing them out does
    /// not rescan every node (apply asks after each finished change).
    ready: BTreeSet<String>,
}

impl Walk {
    /// `edges` maps each node to its prerequisites; prerequisites outside the node set are ignored.
    pub fn new(edges: BTreeMap<String, BTreeSet<String>>) -> Walk {
        let names: HashSet<String> = edges.keys().cloned().collect();
        let mut dependents: HashMap<String, Vec<String>> = HashMap::new();
        let mut waiting_on = BTreeMap::new();
        for (node, prereqs) in edges {
            let prereqs: BTreeSet<String> = prereqs
                .into_iter()
                .filter(|p| names.contains(p) && *p != node)
                .collect();
            for p in &prereqs {
                dependents.entry(p.clone()).or_default().push(node.clone());
            }
            waiting_on.insert(node, prereqs);
        }
        let ready = waiting_on
            .iter()
            .filter(|(_, w)| w.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        Walk {
            waiting_on,
            dependents,
            started: HashSet::new(),
            ready,
        }
    }

    /// Nodes that can start now, in name order; each is handed out once.
    pub fn take_ready(&mut self) -> Vec<String> {
        let ready: Vec<String> = std::mem::take(&mut self.ready).into_iter().collect();
        self.started.extend(ready.iter().cloned());
        ready
    }

    /// Marks a node done, releasing the nodes that waited only for it.
    pub fn done(&mut self, node: &str) {
        self.waiting_on.remove(node);
        self.ready.remove(node);
        for d in self.dependents.get(node).cloned().unwrap_or_default() {
            if let Some(w) = self.waiting_on.get_mut(&d) {
                w.remove(node);
                if w.is_empty() && !self.started.contains(&d) {
                    self.ready.insert(d);
                }
            }
        }
    }

    /// Marks a node failed: every node that (transitively) waits for it is skipped and returned.
    pub fn failed(&mut self, node: &str) -> Vec<String> {
        self.waiting_on.remove(node);
        let mut skipped = Vec::new();
        let mut queue = self.dependents.get(node).cloned().unwrap_or_default();
        while let Some(d) = queue.pop() {
            self.ready.remove(&d);
            if self.waiting_on.remove(&d).is_some() {
                queue.extend(self.dependents.get(&d).cloned().unwrap_or_default());
                skipped.push(d);
            }
        }
        skipped.sort();
        skipped
    }

    /// Nodes not yet started and not skipped: what an interrupted run leaves undone.
    pub fn not_started(&self) -> Vec<String> {
        self.waiting_on
            .keys()
            .filter(|n| !self.started.contains(*n))
            .cloned()
            .collect()
    }

    #[cfg(test)]
    fn is_finished(&self) -> bool {
        self.waiting_on.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(list: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        list.iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn waves_put_prerequisites_first_and_each_wave_in_name_order() {
        let (none, on_c, on_b_and_a, on_self) = (
            [],
            ["c".to_string()],
            ["b".to_string(), "a".to_string(), "elsewhere".to_string()],
            ["d".to_string()],
        );
        let nodes: [(&str, &[String]); 4] = [
            ("b", &on_c),
            ("d", &on_self),
            ("a", &on_b_and_a),
            ("c", &none),
        ];
        // c and d (itself and outside nodes do not count) first, then b, then a.
        let names = |nodes: &[(&'static str, &[String])]| -> Vec<Vec<&'static str>> {
            waves(nodes)
                .into_iter()
                .map(|wave| wave.into_iter().map(|i| nodes[i].0).collect())
                .collect()
        };
        assert_eq!(names(&nodes), [vec!["c", "d"], vec!["b"], vec!["a"]]);
        // A cycle never becomes ready: its nodes come last rather than being lost.
        let (on_y, on_x) = (["y".to_string()], ["x".to_string()]);
        let cyclic: [(&str, &[String]); 3] = [("y", &on_x), ("x", &on_y), ("free", &none)];
        assert_eq!(names(&cyclic), [vec!["free"], vec!["x"], vec!["y"]]);
    }

    #[test]
    fn cycles_are_found_and_acyclic_graphs_pass() {
        let a = ["b".to_string()];
        let b = ["c".to_string()];
        let c = ["a".to_string()];
        let cycle = find_cycle([("a", &a[..]), ("b", &b[..]), ("c", &c[..])].into_iter());
        assert_eq!(cycle.unwrap(), vec!["a", "b", "c", "a"]);
        let none: Vec<String> = vec![];
        assert!(find_cycle([("a", &a[..]), ("b", &none[..])].into_iter()).is_none());
    }

    #[test]
    fn the_cycle_reported_is_the_first_in_name_order_whatever_the_order_given() {
        let to = |n: &str| [n.to_string()];
        let (x, y, a, b, s) = (to("y"), to("x"), to("b"), to("a"), to("s"));
        let nodes = [("x", &x[..]), ("y", &y[..]), ("b", &b[..]), ("a", &a[..])];
        assert_eq!(find_cycle(nodes.into_iter()).unwrap(), ["a", "b", "a"]);
        assert_eq!(
            find_cycle(nodes.into_iter().rev()).unwrap(),
            ["a", "b", "a"]
        );
        // Given in name order already, and a name given twice: its last edges count.
        let none: [String; 0] = [];
        let twice = [("a", &none[..]), ("a", &a[..]), ("b", &b[..])];
        assert_eq!(find_cycle(twice.into_iter()).unwrap(), ["a", "b", "a"]);
        let twice = [("a", &a[..]), ("a", &none[..]), ("b", &b[..])];
        assert!(find_cycle(twice.into_iter()).is_none());
        // A node that needs itself; an edge to a node outside the graph is no cycle.
        assert_eq!(find_cycle([("s", &s[..])].into_iter()).unwrap(), ["s", "s"]);
        assert!(find_cycle([("b", &b[..])].into_iter()).is_none());
    }

    #[test]
    fn walk_releases_nodes_in_dependency_order() {
        let mut w = Walk::new(edges(&[("key", &[]), ("bucket", &["key"]), ("logs", &[])]));
        assert_eq!(w.take_ready(), vec!["key", "logs"]);
        assert!(w.take_ready().is_empty());
        w.done("key");
        assert_eq!(w.take_ready(), vec!["bucket"]);
        w.done("bucket");
        w.done("logs");
        assert!(w.is_finished());
    }

    #[test]
    fn a_failure_skips_everything_downstream_only() {
        let mut w = Walk::new(edges(&[
            ("key", &[]),
            ("bucket", &["key"]),
            ("trail", &["bucket"]),
            ("other", &[]),
        ]));
        w.take_ready();
        assert_eq!(w.failed("key"), vec!["bucket", "trail"]);
        w.done("other");
        assert!(w.is_finished());
    }
}
