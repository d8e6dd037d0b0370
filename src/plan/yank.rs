//! Yank order, computed from a release's recorded graph (never today's
//! workspace): dependents before their dependencies, so that at no moment
//! does an unyanked crate of the release need a yanked one; and the subset a
//! `--starting-crate` brings along (it and everything that depends on it).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Exit, HasExit};

/// One crate of a release as its receipt records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedCrate {
    pub name: String,
    /// This release uploaded it (an earlier release owns the others).
    pub uploaded: bool,
    /// Crates of the release it depends on.
    pub depends_on: Vec<String>,
    /// Those of `depends_on` it needs only as dev-dependencies: yanking
    /// them does not affect its users, so they do not bring it along.
    pub dev_only: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YankOrderError {
    #[error("the receipt lists no crate named `{wanted}`; it holds: {holds}")]
    UnknownCrate { wanted: String, holds: String },
    #[error("the receipt lists `{name}` twice")]
    Duplicate { name: String },
    #[error("the receipt says `{from}` depends on `{to}`, which it does not list")]
    DanglingEdge { from: String, to: String },
    #[error(
        "the receipt's dependency graph has a cycle through {names}; it was not written by cargo-shipper"
    )]
    Cycle { names: String },
}

impl HasExit for YankOrderError {
    /// A receipt whose graph is broken is a bad input file; a crate it
    /// does not list is a wrong `--starting-crate`.
    fn exit(&self) -> Exit {
        match self {
            YankOrderError::UnknownCrate { .. } => Exit::Failure,
            _ => Exit::BadInputFile,
        }
    }
}

/// The crates to yank, dependents first. With `starting`, only that crate
/// and its transitive dependents within the release. Crates this release
/// did not upload are never listed, but the graph runs through them (a
/// dependent of `starting` reached through an already-present crate is
/// still affected).
pub fn yank_order(
    crates: &[ReleasedCrate],
    starting: Option<&str>,
) -> Result<Vec<String>, YankOrderError> {
    let mut position = BTreeMap::new();
    for (i, c) in crates.iter().enumerate() {
        if position.insert(c.name.as_str(), i).is_some() {
            return Err(YankOrderError::Duplicate {
                name: c.name.clone(),
            });
        }
    }
    for c in crates {
        if let Some(to) = c
            .depends_on
            .iter()
            .find(|d| !position.contains_key(d.as_str()))
        {
            return Err(YankOrderError::DanglingEdge {
                from: c.name.clone(),
                to: to.clone(),
            });
        }
    }
    let wanted: BTreeSet<&str> = match starting {
        None => position.keys().copied().collect(),
        Some(start) => {
            if !position.contains_key(start) {
                return Err(YankOrderError::UnknownCrate {
                    wanted: start.to_owned(),
                    holds: crates
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            dependents_closure(crates, start)
        }
    };
    // Kahn's algorithm on the reversed graph: a crate is ready once every
    // crate depending on it is placed. Ties go by receipt position, so the
    // order is stable and reads like the release backwards.
    let mut waiting_on: BTreeMap<&str, usize> = position.keys().map(|n| (*n, 0)).collect();
    for c in crates {
        for dep in &c.depends_on {
            *waiting_on.get_mut(dep.as_str()).expect("checked above") += 1;
        }
    }
    let mut ready: BTreeSet<(std::cmp::Reverse<usize>, &str)> = waiting_on
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(name, _)| (std::cmp::Reverse(position[name]), *name))
        .collect();
    let mut order = Vec::new();
    while let Some(next) = ready.pop_first() {
        let name = next.1;
        order.push(name);
        for dep in &crates[position[name]].depends_on {
            let n = waiting_on.get_mut(dep.as_str()).expect("checked above");
            *n -= 1;
            if *n == 0 {
                ready.insert((std::cmp::Reverse(position[dep.as_str()]), dep.as_str()));
            }
        }
    }
    if order.len() < crates.len() {
        let placed: BTreeSet<&str> = order.iter().copied().collect();
        return Err(YankOrderError::Cycle {
            names: crates
                .iter()
                .filter(|c| !placed.contains(c.name.as_str()))
                .map(|c| format!("`{}`", c.name))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(order
        .into_iter()
        .filter(|name| wanted.contains(name) && crates[position[name]].uploaded)
        .map(str::to_owned)
        .collect())
}

/// `start` and every crate that depends on it (normal or build),
/// transitively.
fn dependents_closure<'a>(crates: &'a [ReleasedCrate], start: &'a str) -> BTreeSet<&'a str> {
    let mut found = BTreeSet::from([start]);
    loop {
        let before = found.len();
        for c in crates {
            let needs = |d: &String| found.contains(d.as_str()) && !c.dev_only.contains(d);
            if c.depends_on.iter().any(needs) {
                found.insert(c.name.as_str());
            }
        }
        if found.len() == before {
            return found;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn krate(name: &str, uploaded: bool, deps: &[&str]) -> ReleasedCrate {
        ReleasedCrate {
            dev_only: Vec::new(),
            name: name.into(),
            uploaded,
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// core <- left, right <- app; core <- cli (through testkit, already present).
    fn release() -> Vec<ReleasedCrate> {
        vec![
            krate("core", true, &[]),
            krate("testkit", false, &["core"]),
            krate("left", true, &["core"]),
            krate("right", true, &["core"]),
            krate("app", true, &["left", "right"]),
            krate("cli", true, &["testkit"]),
        ]
    }

    fn before(order: &[String], a: &str, b: &str) -> bool {
        let pos = |n: &str| order.iter().position(|x| x == n).unwrap();
        pos(a) < pos(b)
    }

    #[test]
    fn dependents_come_first_and_present_crates_are_left_out() {
        let order = yank_order(&release(), None).unwrap();
        assert_eq!(order.len(), 5);
        assert!(!order.contains(&"testkit".to_owned()));
        for c in release() {
            for dep in &c.depends_on {
                if order.contains(dep) && order.contains(&c.name) {
                    assert!(before(&order, &c.name, dep), "{order:?}");
                }
            }
        }
        assert_eq!(order.last().unwrap(), "core");
    }

    #[test]
    fn starting_crate_brings_its_transitive_dependents_only() {
        let order = yank_order(&release(), Some("left")).unwrap();
        assert_eq!(order, ["app", "left"]);
        // Through a crate the release did not upload.
        let order = yank_order(&release(), Some("testkit")).unwrap();
        assert_eq!(order, ["cli"]);
        let order = yank_order(&release(), Some("core")).unwrap();
        assert_eq!(order.len(), 5);
    }

    #[test]
    fn a_broken_graph_is_a_bad_input_file_an_unknown_starting_crate_is_not() {
        let unknown = yank_order(&release(), Some("nope")).unwrap_err();
        assert_eq!(unknown.exit(), Exit::Failure);
        let mut twice = release();
        twice.push(krate("core", true, &[]));
        let mut dangling = release();
        dangling.push(krate("x", true, &["ghost"]));
        let cycle = vec![krate("a", true, &["b"]), krate("b", true, &["a"])];
        for broken in [twice, dangling, cycle] {
            assert_eq!(
                yank_order(&broken, None).unwrap_err().exit(),
                Exit::BadInputFile
            );
        }
    }

    #[test]
    fn bad_graphs_are_refused_with_names() {
        let err = yank_order(&release(), Some("nope")).unwrap_err();
        assert!(err.to_string().contains("core, testkit"), "{err}");
        let mut dangling = release();
        dangling.push(krate("x", true, &["ghost"]));
        assert!(matches!(
            yank_order(&dangling, None),
            Err(YankOrderError::DanglingEdge { .. })
        ));
        let cycle = vec![krate("a", true, &["b"]), krate("b", true, &["a"])];
        assert!(matches!(
            yank_order(&cycle, None),
            Err(YankOrderError::Cycle { .. })
        ));
        let twice = vec![krate("a", true, &[]), krate("a", true, &[])];
        assert!(matches!(
            yank_order(&twice, None),
            Err(YankOrderError::Duplicate { .. })
        ));
    }

    #[test]
    fn a_dev_only_dependent_is_not_brought_along_by_the_starting_crate() {
        let mut crates = vec![
            krate("testkit", true, &[]),
            krate("cli", true, &["testkit", "core"]),
            krate("core", true, &[]),
        ];
        crates[1].dev_only = vec!["testkit".into()];
        assert_eq!(yank_order(&crates, Some("testkit")).unwrap(), ["testkit"]);
        // Through a normal edge it still is.
        assert_eq!(yank_order(&crates, Some("core")).unwrap(), ["cli", "core"]);
    }

    #[test]
    fn random_dags_always_yank_dependents_first() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..200 {
            let n = rng.usize(1..20);
            let crates: Vec<ReleasedCrate> = (0..n)
                .map(|i| ReleasedCrate {
                    dev_only: Vec::new(),
                    name: format!("c{i}"),
                    uploaded: rng.bool(),
                    depends_on: (0..i)
                        .filter(|_| rng.u8(..) < 60)
                        .map(|j| format!("c{j}"))
                        .collect(),
                })
                .collect();
            let start = format!("c{}", rng.usize(0..n));
            for starting in [None, Some(start.as_str())] {
                let order = yank_order(&crates, starting).unwrap();
                for c in &crates {
                    for dep in &c.depends_on {
                        if order.contains(&c.name) && order.contains(dep) {
                            assert!(before(&order, &c.name, dep));
                        }
                    }
                    // Uploaded crates that depend on the start are included.
                    if c.uploaded && starting.is_none() {
                        assert!(order.contains(&c.name));
                    }
                }
            }
        }
    }
}
