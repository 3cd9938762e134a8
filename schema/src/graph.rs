//! The service dependency graph: who must start before whom, which
//! services can start together, and which cycles make a stack impossible.
//!
//! Edges point from a dependency to its dependent (`db -> api` when `api`
//! depends on `db`), covering `depends_on` and the dependencies the loader
//! implies for borrowed namespaces and `volumes_from`.

use std::collections::BTreeMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::model::{Condition, Project};

/// Services and the order constraints between them.
#[derive(Debug, Clone)]
pub struct ServiceGraph {
    graph: DiGraph<String, Condition>,
    index: BTreeMap<String, NodeIndex>,
}

impl ServiceGraph {
    /// Build the graph of `project`. Dependencies on services that are not
    /// in the project are left out (validation reports them).
    pub fn new(project: &Project) -> Self {
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        for name in project.services.keys() {
            index.insert(name.clone(), graph.add_node(name.clone()));
        }
        for (name, svc) in &project.services {
            for (dep, cond) in svc.depends_on.iter().flatten() {
                if let (Some(&from), Some(&to)) = (index.get(dep), index.get(name)) {
                    graph.add_edge(from, to, cond.condition);
                }
            }
        }
        ServiceGraph { graph, index }
    }

    /// Every dependency cycle, each as a path that returns to its start:
    /// `["web", "api", "web"]` reads "web depends on api, which depends on web".
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for scc in tarjan_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let start = *scc
                .iter()
                .min_by_key(|i| &self.graph[**i])
                .unwrap_or(&scc[0]);
            out.push(self.cycle_path(start, &scc));
        }
        out.sort();
        out
    }

    /// Walk "depends on" edges inside one strongly connected component
    /// from `start` until it comes back, smallest names first.
    fn cycle_path(&self, start: NodeIndex, scc: &[NodeIndex]) -> Vec<String> {
        let mut path = vec![start];
        let mut current = start;
        loop {
            let mut deps: Vec<NodeIndex> = self
                .graph
                .neighbors_directed(current, Direction::Incoming)
                .filter(|n| scc.contains(n))
                .collect();
            deps.sort_by_key(|n| &self.graph[*n]);
            let next = deps
                .iter()
                .copied()
                .find(|n| *n == start)
                .or_else(|| deps.iter().copied().find(|n| !path.contains(n)));
            match next {
                Some(n) if n == start => {
                    path.push(n);
                    break;
                }
                Some(n) => {
                    path.push(n);
                    current = n;
                }
                // Dead end inside the component: close on the first revisit.
                None => {
                    if let Some(&n) = deps.first() {
                        path.push(n);
                    }
                    break;
                }
            }
        }
        path.into_iter().map(|i| self.graph[i].clone()).collect()
    }

    /// Services grouped into waves: every service of a wave depends only on
    /// services of earlier waves, so a wave can start in parallel.
    /// Services in cycles are left out.
    pub fn parallel_groups(&self) -> Vec<Vec<String>> {
        let mut remaining: BTreeMap<NodeIndex, usize> = self
            .graph
            .node_indices()
            .map(|n| {
                (
                    n,
                    self.graph
                        .neighbors_directed(n, Direction::Incoming)
                        .count(),
                )
            })
            .collect();
        let mut groups = Vec::new();
        loop {
            let mut wave: Vec<NodeIndex> = remaining
                .iter()
                .filter(|(_, deg)| **deg == 0)
                .map(|(n, _)| *n)
                .collect();
            if wave.is_empty() {
                break;
            }
            for n in &wave {
                remaining.remove(n);
                for dependent in self.graph.neighbors_directed(*n, Direction::Outgoing) {
                    if let Some(d) = remaining.get_mut(&dependent) {
                        *d -= 1;
                    }
                }
            }
            wave.sort_by_key(|n| &self.graph[*n]);
            groups.push(wave.into_iter().map(|n| self.graph[n].clone()).collect());
        }
        groups
    }

    /// A start order: dependencies before dependents, ties by name.
    pub fn start_order(&self) -> Vec<String> {
        self.parallel_groups().into_iter().flatten().collect()
    }

    /// Direct dependencies of `service`, with their conditions.
    pub fn dependencies(&self, service: &str) -> Vec<(String, Condition)> {
        self.edges(service, Direction::Incoming)
    }

    /// Services that depend directly on `service`.
    pub fn dependents(&self, service: &str) -> Vec<(String, Condition)> {
        self.edges(service, Direction::Outgoing)
    }

    fn edges(&self, service: &str, dir: Direction) -> Vec<(String, Condition)> {
        let Some(&idx) = self.index.get(service) else {
            return Vec::new();
        };
        let mut out: Vec<(String, Condition)> = self
            .graph
            .edges_directed(idx, dir)
            .map(|e| {
                let other = if dir == Direction::Incoming {
                    petgraph::visit::EdgeRef::source(&e)
                } else {
                    petgraph::visit::EdgeRef::target(&e)
                };
                (self.graph[other].clone(), *e.weight())
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DependsOn, Service};

    fn project(edges: &[(&str, &[&str])]) -> Project {
        let mut p = Project::default();
        for (name, deps) in edges {
            let svc = Service {
                depends_on: Some(
                    deps.iter()
                        .map(|d| (d.to_string(), DependsOn::started()))
                        .collect(),
                ),
                ..Default::default()
            };
            p.services.insert(name.to_string(), svc);
        }
        p
    }

    #[test]
    fn waves_and_order() {
        let g = ServiceGraph::new(&project(&[
            ("web", &["api"]),
            ("api", &["db", "cache"]),
            ("db", &[]),
            ("cache", &[]),
            ("worker", &["db"]),
        ]));
        assert_eq!(
            g.parallel_groups(),
            vec![vec!["cache", "db"], vec!["api", "worker"], vec!["web"]]
        );
        assert_eq!(g.start_order(), vec!["cache", "db", "api", "worker", "web"]);
        assert!(g.cycles().is_empty());
        assert_eq!(g.dependencies("api").len(), 2);
        assert_eq!(
            g.dependents("db")
                .iter()
                .map(|d| d.0.as_str())
                .collect::<Vec<_>>(),
            vec!["api", "worker"]
        );
    }

    #[test]
    fn cycles_are_named() {
        let g = ServiceGraph::new(&project(&[
            ("a", &["b"]),
            ("b", &["c"]),
            ("c", &["a"]),
            ("d", &["d"]),
        ]));
        assert_eq!(g.cycles(), vec![vec!["a", "b", "c", "a"], vec!["d", "d"]]);
    }
}
