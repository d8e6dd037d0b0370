//! The ready-set scheduler: a crate is ready once every plan crate it
//! depends on is confirmed visible. No level barriers.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct PublishPlan {
    /// Crate -> plan crates it still waits for.
    waiting: BTreeMap<String, BTreeSet<String>>,
    /// Crate -> crates that depend on it.
    dependents: BTreeMap<String, Vec<String>>,
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
        PublishPlan {
            waiting,
            dependents,
        }
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
