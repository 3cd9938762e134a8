//! A swarm's services, for an engine that is a swarm manager. An engine
//! that is not answers 503 ("This node is not a swarm manager"), which
//! [`super::map_err`] makes [`EngineError::NotSwarm`].

use async_trait::async_trait;
use bollard::models::Service;
use bollard::query_parameters::{ListServicesOptions, UpdateServiceOptions};

use super::{map_err, project_filter, translate, DockerEngine};
use crate::engine::{EngineError, Result, ServiceRequest, ServiceStatus, Services};

#[async_trait]
impl Services for DockerEngine {
    async fn list_services(&self, project: &str) -> Result<Vec<ServiceStatus>> {
        let listed = self
            .docker
            .list_services(Some(ListServicesOptions {
                filters: Some(project_filter(project)),
                ..Default::default()
            }))
            .await
            .map_err(map_err)?;
        Ok(listed.into_iter().map(status).collect())
    }

    async fn create_service(&self, request: ServiceRequest) -> Result<String> {
        let created = self
            .docker
            .create_service(translate::service_body(request), None)
            .await
            .map_err(map_err)?;
        created
            .id
            .ok_or_else(|| EngineError::api("the engine created a service but gave no id"))
    }

    async fn update_service(&self, id: &str, version: u64, request: ServiceRequest) -> Result<()> {
        let version = i32::try_from(version)
            .map_err(|_| EngineError::api(format!("service version {version} is out of range")))?;
        self.docker
            .update_service(
                id,
                translate::service_body(request),
                UpdateServiceOptions {
                    version,
                    ..Default::default()
                },
                None,
            )
            .await
            .map(drop)
            .map_err(map_err)
    }

    async fn remove_service(&self, id: &str) -> Result<()> {
        self.docker.delete_service(id).await.map_err(map_err)
    }
}

/// A listed service as the engine-neutral status.
fn status(service: Service) -> ServiceStatus {
    let spec = service.spec.unwrap_or_default();
    let image = spec
        .task_template
        .and_then(|t| t.container_spec)
        .and_then(|c| c.image)
        .unwrap_or_default();
    let replicas = spec
        .mode
        .and_then(|m| m.replicated)
        .and_then(|r| r.replicas)
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or_default();
    ServiceStatus {
        id: service.id.unwrap_or_default(),
        name: spec.name.unwrap_or_default(),
        labels: spec.labels.unwrap_or_default().into_iter().collect(),
        image,
        replicas,
        version: service.version.and_then(|v| v.index).unwrap_or_default(),
    }
}
