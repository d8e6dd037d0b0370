//! Small directed-graph algorithms over dense node indices: strongly
//! connected components (cycle detection) and dependency levels.
//!
//! An edge `(a, b)` means "a depends on b": b must be published first.

/// Strongly connected components with more than one node, or a node with an
/// edge to itself. Each component is sorted; the list is sorted too, so the
/// result does not depend on edge order.
pub fn cycles(node_count: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let adjacency = adjacency(node_count, edges);
    let mut tarjan = Tarjan {
        adjacency: &adjacency,
        index: vec![None; node_count],
        low: vec![0; node_count],
        on_stack: vec![false; node_count],
        stack: Vec::new(),
        next_index: 0,
        components: Vec::new(),
    };
    for node in 0..node_count {
        if tarjan.index[node].is_none() {
            tarjan.visit(node);
        }
    }
    let mut cycles: Vec<Vec<usize>> = tarjan
        .components
        .into_iter()
        .filter(|c| c.len() > 1 || adjacency[c[0]].contains(&c[0]))
        .map(|mut c| {
            c.sort_unstable();
            c
        })
        .collect();
    cycles.sort();
    cycles
}

/// Level of every node in an acyclic graph: 0 without dependencies, else one
/// more than the highest level among its dependencies.
///
/// # Panics
/// If the graph has a cycle; check with [`cycles`] first.
pub fn levels(node_count: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let adjacency = adjacency(node_count, edges);
    let mut level: Vec<Option<usize>> = vec![None; node_count];
    let mut in_progress = vec![false; node_count];
    // Iterative post-order walk: a node's level is known once all its
    // dependencies' levels are; deep chains do not grow the call stack.
    for root in 0..node_count {
        let mut stack = vec![(root, false)];
        while let Some((node, expanded)) = stack.pop() {
            if level[node].is_some() {
                continue;
            }
            if expanded {
                let deepest = adjacency[node]
                    .iter()
                    .map(|&dep| level[dep].expect("dependencies are visited first") + 1)
                    .max()
                    .unwrap_or(0);
                level[node] = Some(deepest);
                in_progress[node] = false;
            } else {
                assert!(!in_progress[node], "levels() called on a cyclic graph");
                in_progress[node] = true;
                stack.push((node, true));
                for &dep in &adjacency[node] {
                    if level[dep].is_none() {
                        assert!(!in_progress[dep], "levels() called on a cyclic graph");
                        stack.push((dep, false));
                    }
                }
            }
        }
    }
    level.into_iter().map(|l| l.expect("all visited")).collect()
}

fn adjacency(node_count: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut adjacency = vec![Vec::new(); node_count];
    for &(from, to) in edges {
        adjacency[from].push(to);
    }
    for list in &mut adjacency {
        list.sort_unstable();
        list.dedup();
    }
    adjacency
}

struct Tarjan<'a> {
    adjacency: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    next_index: usize,
    components: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    /// Iterative Tarjan: workspaces of hundreds of crates with long chains
    /// must not overflow the stack.
    fn visit(&mut self, root: usize) {
        // (node, position of the next neighbour to look at)
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        self.open(root);
        while let Some(&mut (node, ref mut next)) = work.last_mut() {
            if let Some(&dep) = self.adjacency[node].get(*next) {
                *next += 1;
                match self.index[dep] {
                    None => {
                        self.open(dep);
                        work.push((dep, 0));
                    }
                    Some(dep_index) if self.on_stack[dep] => {
                        self.low[node] = self.low[node].min(dep_index);
                    }
                    Some(_) => {}
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                self.low[parent] = self.low[parent].min(self.low[node]);
            }
            if Some(self.low[node]) == self.index[node] {
                let mut component = Vec::new();
                loop {
                    let member = self.stack.pop().expect("node is on the stack");
                    self.on_stack[member] = false;
                    component.push(member);
                    if member == node {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }

    fn open(&mut self, node: usize) {
        self.index[node] = Some(self.next_index);
        self.low[node] = self.next_index;
        self.next_index += 1;
        self.stack.push(node);
        self.on_stack[node] = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acyclic_graph_has_no_cycles_and_levels_follow_longest_path() {
        // 0 <- 1 <- 3, 0 <- 2 <- 3 (diamond), 4 alone
        let edges = [(1, 0), (2, 0), (3, 1), (3, 2)];
        assert!(cycles(5, &edges).is_empty());
        assert_eq!(levels(5, &edges), vec![0, 1, 1, 2, 0]);
    }

    #[test]
    fn finds_each_cycle_once_sorted() {
        let edges = [(0, 1), (1, 0), (2, 3), (3, 4), (4, 2), (5, 5), (6, 0)];
        assert_eq!(cycles(7, &edges), vec![vec![0, 1], vec![2, 3, 4], vec![5]]);
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        let n = 100_000;
        let edges: Vec<_> = (1..n).map(|i| (i, i - 1)).collect();
        assert!(cycles(n, &edges).is_empty());
        assert_eq!(levels(n, &edges)[n - 1], n - 1);
    }
}
