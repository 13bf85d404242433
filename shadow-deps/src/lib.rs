//! The dependency graph of Shadow.
//!
//! A shadow copy of a service is useless without its database, cache and queue. This crate walks a
//! [`DependencyRegistry`] from a root service to find everything it depends on, orders it so that every
//! dependency is provisioned before its dependents, and propagates config changes to both environments.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use shadow_core::{DependencyKind, ServiceId, memory::InMemoryDependencyRegistry};
//! use shadow_deps::DependencyGraph;
//!
//! let id = |s: &str| ServiceId::new(s).unwrap();
//! let registry = InMemoryDependencyRegistry::new();
//! registry.add_dependency(&id("checkout"), id("orders-db"), DependencyKind::Database);
//! registry.add_dependency(&id("checkout"), id("payments"), DependencyKind::Service);
//! registry.add_dependency(&id("payments"), id("payments-db"), DependencyKind::Database);
//!
//! let graph = DependencyGraph::discover(&registry, &id("checkout"), 100).await?;
//! let order: Vec<String> = graph.provisioning_order()?.iter().map(ToString::to_string).collect();
//! assert_eq!(order, ["orders-db", "payments-db", "payments", "checkout"]);
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod propagate;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub use propagate::{PropagateOutcome, propagate_config};
use shadow_core::{DependencyKind, DependencyRegistry, ServiceId};

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while walking or using the graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The dependencies form a cycle, so no provisioning order exists.
    #[error("dependency cycle: {}", path.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> "))]
    Cycle {
        /// The services on the cycle, the first repeated at the end.
        path: Vec<ServiceId>,
    },
    /// The graph has more services than the caller allowed.
    #[error("dependency graph of `{root}` has more than {limit} services")]
    TooLarge {
        /// The root service.
        root: ServiceId,
        /// The limit.
        limit: usize,
    },
    /// A config change reached one environment but could not be reached or undone in the other.
    #[error("config `{key}` of `{service}` is partially applied: {detail}")]
    PartiallyApplied {
        /// The service.
        service: ServiceId,
        /// The key.
        key: String,
        /// Which environment has which value.
        detail: String,
        /// The error that stopped the change.
        #[source]
        source: Box<shadow_core::Error>,
    },
    /// The registry failed.
    #[error(transparent)]
    Registry(#[from] shadow_core::Error),
}

/// One service in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// What the service is to the one that depends on it; `None` for the root.
    pub kind: Option<DependencyKind>,
    /// Its direct dependencies, sorted.
    pub dependencies: Vec<ServiceId>,
}

/// The services a root service depends on, directly or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyGraph {
    root: ServiceId,
    nodes: BTreeMap<ServiceId, Node>,
}

impl DependencyGraph {
    /// Walks the registry breadth-first from `root`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] past `max_nodes` services; [`Error::Registry`] when a lookup fails. A service the
    /// registry does not know ([`shadow_core::Error::NotFound`]) is a leaf: a database has no dependencies of its
    /// own.
    pub async fn discover(
        registry: &dyn DependencyRegistry,
        root: &ServiceId,
        max_nodes: usize,
    ) -> Result<Self> {
        let mut nodes: BTreeMap<ServiceId, Node> = BTreeMap::new();
        let mut queue = VecDeque::from([(root.clone(), None)]);
        while let Some((id, kind)) = queue.pop_front() {
            if nodes.contains_key(&id) {
                continue;
            }
            if nodes.len() == max_nodes {
                return Err(Error::TooLarge {
                    root: root.clone(),
                    limit: max_nodes,
                });
            }
            let deps = match registry.dependencies(&id).await {
                Ok(deps) => deps,
                Err(shadow_core::Error::NotFound { .. }) if id != *root => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            tracing::debug!(service = %id, dependencies = deps.len(), "discovered");
            let mut ids: Vec<ServiceId> = deps.iter().map(|d| d.id.clone()).collect();
            ids.sort();
            ids.dedup();
            for d in deps {
                queue.push_back((d.id, Some(d.kind)));
            }
            nodes.insert(
                id,
                Node {
                    kind,
                    dependencies: ids,
                },
            );
        }
        Ok(Self {
            root: root.clone(),
            nodes,
        })
    }

    /// The root service.
    #[must_use]
    pub fn root(&self) -> &ServiceId {
        &self.root
    }

    /// Every service in the graph with its node, sorted by id.
    #[must_use]
    pub fn nodes(&self) -> &BTreeMap<ServiceId, Node> {
        &self.nodes
    }

    /// The order to provision in: every dependency before its dependents, the root last. Ties are broken by
    /// id, so the order is deterministic.
    ///
    /// # Errors
    /// [`Error::Cycle`] naming the services on a cycle.
    pub fn provisioning_order(&self) -> Result<Vec<ServiceId>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Open,
            Done,
        }
        let mut marks: BTreeMap<&ServiceId, Mark> = BTreeMap::new();
        let mut order = Vec::with_capacity(self.nodes.len());
        // Iterative depth-first post-order, so a deep chain cannot overflow the stack.
        let mut stack: Vec<(&ServiceId, usize)> = vec![(&self.root, 0)];
        marks.insert(&self.root, Mark::Open);
        while let Some((id, next)) = stack.pop() {
            let deps = &self.nodes[id].dependencies;
            if let Some(dep) = deps.get(next) {
                stack.push((id, next + 1));
                match marks.get(dep) {
                    Some(Mark::Done) => {}
                    Some(Mark::Open) => {
                        let start = stack.iter().position(|(s, _)| *s == dep).unwrap_or(0);
                        let mut path: Vec<ServiceId> =
                            stack[start..].iter().map(|(s, _)| (*s).clone()).collect();
                        path.push(dep.clone());
                        return Err(Error::Cycle { path });
                    }
                    None => {
                        marks.insert(dep, Mark::Open);
                        stack.push((dep, 0));
                    }
                }
            } else {
                marks.insert(id, Mark::Done);
                order.push(id.clone());
            }
        }
        Ok(order)
    }

    /// The services that depend on `id`, directly or not, sorted.
    #[must_use]
    pub fn dependents_of(&self, id: &ServiceId) -> BTreeSet<ServiceId> {
        let mut out = BTreeSet::new();
        let mut frontier = vec![id];
        while let Some(cur) = frontier.pop() {
            for (other, node) in &self.nodes {
                if node.dependencies.contains(cur) && out.insert(other.clone()) {
                    frontier.push(other);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use shadow_core::{DependencyKind, memory::InMemoryDependencyRegistry};

    use super::*;

    fn id(s: &str) -> ServiceId {
        ServiceId::new(s).unwrap()
    }

    fn diamond() -> InMemoryDependencyRegistry {
        let r = InMemoryDependencyRegistry::new();
        r.add_dependency(&id("web"), id("api"), DependencyKind::Service);
        r.add_dependency(&id("web"), id("cache"), DependencyKind::Cache);
        r.add_dependency(&id("api"), id("db"), DependencyKind::Database);
        r.add_dependency(&id("cache"), id("db"), DependencyKind::Database);
        r
    }

    #[tokio::test]
    async fn orders_dependencies_first_and_shares_diamonds() {
        let graph = DependencyGraph::discover(&diamond(), &id("web"), 10)
            .await
            .unwrap();
        assert_eq!(graph.nodes().len(), 4);
        let order = graph.provisioning_order().unwrap();
        assert_eq!(order, vec![id("db"), id("api"), id("cache"), id("web")]);
        assert_eq!(graph.nodes()[&id("db")].kind, Some(DependencyKind::Database));
        assert_eq!(
            graph.dependents_of(&id("db")),
            BTreeSet::from([id("api"), id("cache"), id("web")])
        );
    }

    #[tokio::test]
    async fn reports_cycles_and_limits() {
        let r = diamond();
        r.add_dependency(&id("db"), id("web"), DependencyKind::Service);
        let graph = DependencyGraph::discover(&r, &id("web"), 10).await.unwrap();
        let err = graph.provisioning_order().unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: web -> api -> db -> web");
        let err = DependencyGraph::discover(&r, &id("web"), 2).await.unwrap_err();
        assert!(matches!(err, Error::TooLarge { limit: 2, .. }));
    }
}
