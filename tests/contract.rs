//! The engine contract against the real Docker engine: the same checks
//! the fake passes (`reconciler/tests/contract_fake.rs`).

use reconciler::contract;
use reconciler::docker::DockerEngine;

/// A project name of this run, and on drop the removal of whatever a
/// failed check left of it (and of its `-b` / `-other` neighbours).
struct Project(String);

impl Project {
    fn new(check: &str) -> Project {
        Project(format!("test-contract-{check}-{}", std::process::id()))
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        for project in [self.0.clone(), format!("{}-b", self.0)] {
            let filter = format!("label=io.stack.project={project}");
            let ids = stack_e2e::docker(&["ps", "-aq", "--filter", &filter]);
            for id in ids.split_whitespace() {
                let _ = std::process::Command::new("docker")
                    .args(["rm", "-f", id])
                    .output();
            }
        }
        for (kind, name) in [("network", "_default"), ("volume", "_data")] {
            let _ = std::process::Command::new("docker")
                .args([kind, "rm", &format!("{}{name}", self.0)])
                .output();
        }
    }
}

async fn engine() -> DockerEngine {
    DockerEngine::connect().await.expect("the engine answers")
}

#[tokio::test]
async fn networks_and_volumes() {
    let p = Project::new("resources");
    contract::networks_and_volumes(&engine().await, &p.0).await;
}

#[tokio::test]
async fn container_lifecycle() {
    let p = Project::new("lifecycle");
    contract::container_lifecycle(&engine().await, &p.0).await;
}

#[tokio::test]
async fn names_are_unique_and_removal_is_forced() {
    let p = Project::new("names");
    contract::names_are_unique_and_removal_is_forced(&engine().await, &p.0).await;
}

#[tokio::test]
async fn project_filter() {
    let p = Project::new("filter");
    contract::project_filter(&engine().await, &p.0).await;
}

#[tokio::test]
async fn events_follow_the_project() {
    let p = Project::new("events");
    contract::events_follow_the_project(&engine().await, &p.0).await;
}

#[tokio::test]
async fn verbs_on_a_container() {
    let p = Project::new("verbs");
    contract::verbs_on_a_container(&engine().await, &p.0).await;
}

#[tokio::test]
async fn services_need_a_swarm() {
    let p = Project::new("noswarm");
    contract::services_need_a_swarm(&engine().await, &p.0).await;
}

/// On a swarm manager of the test's own (the shared engine never joins a
/// swarm): the same checks the fake passes with `swarm` on.
#[tokio::test]
async fn services_on_a_swarm() {
    let swarm = stack_e2e::swarm_engine::SwarmEngine::start("contract", &[contract::IMAGE]);
    let engine = DockerEngine::connect_to(&swarm.host)
        .await
        .expect("the second engine answers");
    contract::services_on_a_swarm(&engine, "test-contract-swarm").await;
}
