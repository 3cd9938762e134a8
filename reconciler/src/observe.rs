//! Read what the engine runs for a project into the planner's terms.

use std::collections::BTreeSet;

use planner::Observed;
use schema::Project;

use crate::engine::{Engine, Result};

/// Everything the planner needs to know about `project` on `engine`:
/// its labelled containers, networks and volumes, the ids of the images
/// its services name, which external networks and volumes exist, and the
/// subnets of the engine's other networks, and the host ports other
/// projects' containers hold.
pub async fn observe(engine: &dyn Engine, project: &Project) -> Result<Observed> {
    let name = project.project_name().to_string();
    let (containers, networks, volumes, all_networks, ports) = futures::try_join!(
        engine.list_containers(&name),
        engine.list_networks(&name),
        engine.list_volumes(&name),
        engine.list_network_addresses(),
        engine.list_published_ports(),
    )?;
    let (ours, others): (Vec<_>, Vec<_>) = all_networks
        .into_iter()
        .partition(|n| n.project() == Some(name.as_str()));
    let mut observed = Observed {
        containers,
        networks,
        volumes,
        gateways: ours
            .into_iter()
            .filter_map(|n| Some((n.name, n.gateway?)))
            .collect(),
        other_networks: others,
        capabilities: engine.capabilities(),
        foreign_ports: ports
            .into_iter()
            .filter(|p| p.project.as_deref() != Some(name.as_str()))
            .collect(),
        ..Default::default()
    };
    let images: BTreeSet<String> = project
        .services
        .iter()
        .map(|(name, svc)| project.image_of(name, svc))
        .collect();
    for image in images {
        if let Some(id) = engine.image_id(&image).await? {
            observed.images.insert(image, id);
        }
    }
    for net in project.networks.values().filter(|n| n.external) {
        let n = net.name.clone().unwrap_or_default();
        if engine.network_exists(&n).await? {
            observed.external_networks.push(n);
        }
    }
    for vol in project.volumes.values().filter(|v| v.external) {
        let n = vol.name.clone().unwrap_or_default();
        if engine.volume_exists(&n).await? {
            observed.external_volumes.push(n);
        }
    }
    Ok(observed)
}
