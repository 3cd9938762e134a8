//! The engine contract against the fake (the same checks run against the
//! real engine in the end-to-end tests).

use reconciler::contract;
use reconciler::fake::FakeEngine;

/// A fake with the contract's image, as the real engine has it.
fn engine() -> FakeEngine {
    let engine = FakeEngine::new();
    engine.add_image(contract::IMAGE, "sha256:contract");
    engine
}

#[tokio::test]
async fn networks_and_volumes() {
    contract::networks_and_volumes(&engine(), "contract").await;
}

#[tokio::test]
async fn container_lifecycle() {
    contract::container_lifecycle(&engine(), "contract").await;
}

#[tokio::test]
async fn names_are_unique_and_removal_is_forced() {
    contract::names_are_unique_and_removal_is_forced(&engine(), "contract").await;
}

#[tokio::test]
async fn project_filter() {
    contract::project_filter(&engine(), "contract").await;
}

#[tokio::test]
async fn events_follow_the_project() {
    contract::events_follow_the_project(&engine(), "contract").await;
}

#[tokio::test]
async fn verbs_on_a_container() {
    contract::verbs_on_a_container(&engine(), "contract").await;
}

#[tokio::test]
async fn services_need_a_swarm() {
    contract::services_need_a_swarm(&engine(), "contract").await;
}

#[tokio::test]
async fn services_on_a_swarm() {
    let engine = engine();
    engine.set_capabilities(planner::Capabilities {
        swarm: true,
        ..reconciler::Engine::capabilities(&engine)
    });
    contract::services_on_a_swarm(&engine, "contract").await;
}
