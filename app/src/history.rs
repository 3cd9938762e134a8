//! What a service ran before: the definitions recorded in its containers'
//! labels, for `stack rollback` and for `failure_action: rollback`.

use planner::{hash, labels, ObservedContainer};
use schema::{Project, Service};

use crate::{AppError, Result, Session};

/// Whether container `c` runs `svc`'s definition as the file has it now.
pub fn is_updated(c: &ObservedContainer, svc: &Service) -> bool {
    hash::runs_definition(c.labels.get(labels::CONFIG), &hash::definition(svc))
}

/// The project with `name` returned to the definition its replicas ran
/// before their last update (with `rollback_config` as its update policy
/// when the file has one). What a definition leaves out (dependencies,
/// replicas, profiles) comes from the file.
pub async fn rolled_back(session: &Session, name: &str) -> Result<Project> {
    let Some(current) = session.project.services.get(name).cloned() else {
        return Err(AppError::Invalid(format!(
            "no service named `{name}` in the stack"
        )));
    };
    let containers = session.engine.list_containers(&session.name()).await?;
    // Prefer a replica running what the file says: its predecessor is the
    // definition to go back to.
    let runs_file = |c: &&ObservedContainer| is_updated(c, &current);
    let previous = containers
        .iter()
        .filter(|c| c.service == name)
        .min_by_key(|c| (!runs_file(c), c.replica))
        .and_then(|c| c.labels.get(labels::PREVIOUS_CONFIG))
        .ok_or_else(|| AppError::Invalid(format!("no earlier definition of `{name}` is recorded: it has not been updated since it was created")))?;
    let mut svc: Service = serde_json::from_str(previous).map_err(|e| {
        AppError::Invalid(format!(
            "the recorded definition of `{name}` cannot be read: {e}"
        ))
    })?;
    svc.depends_on = current.depends_on.clone();
    svc.scale = current.scale;
    svc.profiles = current.profiles.clone();
    let deploy = current.deploy.clone().unwrap_or_default();
    let d = svc.deploy.get_or_insert_with(Default::default);
    d.replicas = deploy.replicas;
    d.update_config = deploy
        .rollback_config
        .clone()
        .or(deploy.update_config.clone());
    let mut project = (*session.project).clone();
    project.services.insert(name.to_string(), svc);
    Ok(project)
}
