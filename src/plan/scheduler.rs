//! The ready-set scheduler: a crate is ready once every plan crate it
//! depends on is confirmed visible. No level barriers.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct PublishPlan {
    /// Crate -> plan crates it still waits for.
    waiting: BTreeMap<String, BTreeSet<String>>,
    /// Crate -> crates that depend on it.
    dependents: BTreeMap<String, Vec<String>>,
    /// Crate -> crates on the longest chain that starts at it (itself and
    /// its dependents, their dependents, …): what the run's end waits for.
    chain: BTreeMap<String, usize>,
}

impl PublishPlan {
    /// `crates`: (name, plan crates it depends on).
    pub fn new<'a>(crates: impl IntoIterator<Item = (&'a str, &'a [String])>) -> Self {
        let mut waiting = BTreeMap::new();
        let mut dependents: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, deps) in crates {
            waiting.insert(
                name.to_owned(),
                deps.iter().cloned().collect::<BTreeSet<_>>(),
            );
            for dep in deps {
                dependents
                    .entry(dep.clone())
                    .or_default()
                    .push(name.to_owned());
            }
        }
        let chain = chain_lengths(&waiting, &dependents);
        PublishPlan {
            waiting,
            dependents,
            chain,
        }
    }

    /// How many crates the longest chain from `name` through its dependents
    /// holds (1: nothing depends on it). Handing out the longest chains
    /// first shortens the run: a crate on the critical path never queues
    /// behind one that has time to spare.
    pub fn chain_length(&self, name: &str) -> usize {
        self.chain.get(name).copied().unwrap_or(1)
    }

    /// Remove and return the crates with nothing left to wait for, by name.
    pub fn take_ready(&mut self) -> Vec<String> {
        let ready: Vec<String> = self
            .waiting
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        for name in &ready {
            self.waiting.remove(name);
        }
        ready
    }

    /// Hand `name` out now, whatever it waits for (a crate uploaded by an
    /// earlier run only needs confirming). Its dependents still wait for
    /// [`Self::mark_confirmed`].
    pub fn take(&mut self, name: &str) {
        self.waiting.remove(name);
    }

    /// `name` is visible in the registry: its dependents stop waiting for it.
    pub fn mark_confirmed(&mut self, name: &str) {
        self.waiting.remove(name);
        for dependent in self.dependents.get(name).into_iter().flatten() {
            if let Some(deps) = self.waiting.get_mut(dependent) {
                deps.remove(name);
            }
        }
    }

    /// `name` will not go out in this run: remove everything that needs it,
    /// directly or not. Returns those crates with the dependency that blocks them.
    pub fn mark_failed(&mut self, name: &str) -> Vec<(String, String)> {
        self.waiting.remove(name);
        let mut blocked = Vec::new();
        let mut stack = vec![name.to_owned()];
        while let Some(failed) = stack.pop() {
            for dependent in self.dependents.get(&failed).into_iter().flatten() {
                if self.waiting.remove(dependent).is_some() {
                    blocked.push((dependent.clone(), failed.clone()));
                    stack.push(dependent.clone());
                }
            }
        }
        blocked
    }

    /// Crates not yet handed out.
    pub fn remaining(&self) -> usize {
        self.waiting.len()
    }
}

/// Longest dependents chain per crate, dependents before dependencies
/// (iterative: a deep plan cannot overflow the stack). Crates on a cycle
/// (a plan never has one) count as 1.
fn chain_lengths(
    waiting: &BTreeMap<String, BTreeSet<String>>,
    dependents: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, usize> {
    let mut pending_dependents: BTreeMap<&str, usize> = waiting
        .keys()
        .map(|n| {
            let count = dependents
                .get(n)
                .map_or(0, |d| d.iter().filter(|d| waiting.contains_key(*d)).count());
            (n.as_str(), count)
        })
        .collect();
    let mut done: Vec<&str> = pending_dependents
        .iter()
        .filter(|(_, c)| **c == 0)
        .map(|(n, _)| *n)
        .collect();
    let mut chain: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(name) = done.pop() {
        let below = dependents
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|d| chain.get(d))
            .max()
            .copied()
            .unwrap_or(0);
        chain.insert(name.to_owned(), below + 1);
        for dep in waiting.get(name).into_iter().flatten() {
            if let Some(count) = pending_dependents.get_mut(dep.as_str()) {
                *count -= 1;
                if *count == 0 {
                    done.push(dep.as_str());
                }
            }
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diamond() -> PublishPlan {
        let none: Vec<String> = vec![];
        let core = vec!["core".to_owned()];
        let both = vec!["left".to_owned(), "right".to_owned()];
        let leaked: &'static [(&str, Vec<String>)] = Box::leak(Box::new([
            ("core", none),
            ("left", core.clone()),
            ("right", core),
            ("app", both),
        ]));
        PublishPlan::new(leaked.iter().map(|(n, d)| (*n, d.as_slice())))
    }

    #[test]
    fn chain_lengths_count_the_longest_way_to_the_end() {
        let plan = diamond();
        assert_eq!(plan.chain_length("core"), 3);
        assert_eq!(plan.chain_length("left"), 2);
        assert_eq!(plan.chain_length("app"), 1);
        // A long chain beside a short one: its root comes first.
        let none: Vec<String> = vec![];
        let a = vec!["a".to_owned()];
        let b = vec!["b".to_owned()];
        let leaked: &'static [(&str, Vec<String>)] = Box::leak(Box::new([
            ("a", none.clone()),
            ("b", a),
            ("c", b),
            ("z", none),
        ]));
        let plan = PublishPlan::new(leaked.iter().map(|(n, d)| (*n, d.as_slice())));
        assert_eq!(plan.chain_length("a"), 3);
        assert_eq!(plan.chain_length("z"), 1);
    }

    #[test]
    fn ready_set_follows_confirmations_not_levels() {
        let mut plan = diamond();
        assert_eq!(plan.take_ready(), ["core"]);
        assert!(
            plan.take_ready().is_empty(),
            "nothing until core is confirmed"
        );
        plan.mark_confirmed("core");
        assert_eq!(plan.take_ready(), ["left", "right"]);
        plan.mark_confirmed("left");
        assert!(plan.take_ready().is_empty(), "app still waits for right");
        plan.mark_confirmed("right");
        assert_eq!(plan.take_ready(), ["app"]);
        assert_eq!(plan.remaining(), 0);
    }

    #[test]
    fn failure_blocks_every_dependent_transitively() {
        let mut plan = diamond();
        plan.take_ready();
        let blocked = plan.mark_failed("core");
        let names: BTreeSet<_> = blocked.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, BTreeSet::from(["left", "right", "app"]));
        assert_eq!(plan.remaining(), 0);
    }

    #[test]
    fn already_done_crates_are_confirmed_up_front() {
        let mut plan = diamond();
        plan.mark_confirmed("core");
        plan.mark_confirmed("left");
        assert_eq!(plan.take_ready(), ["right"]);
    }
}
