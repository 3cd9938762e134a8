//! A project as its containers' labels describe it, for the commands that
//! work without the stack file (`stack -p NAME ps|down|logs|...`), as
//! Compose's do.

use std::collections::BTreeMap;

use planner::{labels, ObservedContainer};
use schema::{DependsOn, Origin, Project, ProjectName, Service};

/// The project `name`, from its containers: each service's definition as
/// its newest replica was created with, its dependencies, and where the
/// project was loaded from.
pub fn project(name: &ProjectName, containers: &[ObservedContainer]) -> Project {
    let mut newest: BTreeMap<&str, &ObservedContainer> = BTreeMap::new();
    for c in containers {
        let slot = newest.entry(c.service.as_str()).or_insert(c);
        if c.replica > slot.replica {
            *slot = c;
        }
    }
    let services = newest
        .into_iter()
        .map(|(service, c)| (service.to_string(), service_of(c)))
        .collect();
    let origin = containers
        .first()
        .map(|c| Origin {
            working_dir: c
                .labels
                .get(labels::compose::WORKING_DIR)
                .map(Into::into)
                .unwrap_or_default(),
            config_files: c
                .labels
                .get(labels::compose::CONFIG_FILES)
                .map(|f| {
                    f.split(',')
                        .filter(|f| !f.is_empty())
                        .map(Into::into)
                        .collect()
                })
                .unwrap_or_default(),
        })
        .unwrap_or_default();
    Project {
        name: Some(name.clone()),
        services,
        origin,
        ..Project::default()
    }
}

/// The service a container was made from: its recorded definition (an
/// unreadable one, from another version of `stack`, leaves the defaults),
/// with the dependencies its Compose label names.
fn service_of(c: &ObservedContainer) -> Service {
    let mut svc: Service = c
        .labels
        .get(labels::CONFIG)
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_default();
    let depends_on: BTreeMap<String, DependsOn> = c
        .labels
        .get(labels::compose::DEPENDS_ON)
        .map(|d| d.split(',').filter_map(dependency).collect())
        .unwrap_or_default();
    if !depends_on.is_empty() {
        svc.depends_on = Some(depends_on);
    }
    svc
}

/// `db:service_healthy:false` -> (`db`, its condition and restart flag).
fn dependency(entry: &str) -> Option<(String, DependsOn)> {
    let mut parts = entry.split(':');
    let service = parts.next().filter(|s| !s.is_empty())?.to_string();
    let condition = serde_json::from_value(parts.next()?.into()).ok()?;
    let restart = parts.next() == Some("true");
    Some((
        service,
        DependsOn {
            condition,
            restart,
            required: true,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(service: &str, replica: u32, labels: &[(&str, &str)]) -> ObservedContainer {
        ObservedContainer {
            id: format!("{service}-{replica}"),
            name: format!("p-{service}-{replica}"),
            service: service.into(),
            replica,
            config_hash: String::new(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            state: planner::RunState::Running,
            health: None,
            image_id: String::new(),
            addresses: BTreeMap::new(),
            addresses_v6: BTreeMap::new(),
        }
    }

    #[test]
    fn services_dependencies_and_origin_come_from_labels() {
        let web = [
            (labels::CONFIG, r#"{"image":"web:2","command":["serve"]}"#),
            (
                labels::compose::DEPENDS_ON,
                "db:service_healthy:true,cache:service_started:false",
            ),
            (labels::compose::WORKING_DIR, "/srv/app"),
            (
                labels::compose::CONFIG_FILES,
                "/srv/app/a.yaml,/srv/app/b.yaml",
            ),
        ];
        let containers = [
            container("web", 1, &web),
            container("web", 2, &web),
            container("db", 1, &[(labels::CONFIG, "not json")]),
        ];
        let name = ProjectName::new("p").expect("a valid name");
        let p = project(&name, &containers);
        assert_eq!(p.project_name(), "p");
        assert_eq!(
            p.services.keys().collect::<Vec<_>>(),
            ["db", "web"],
            "one entry per service"
        );
        assert_eq!(p.services["web"].image.as_deref(), Some("web:2"));
        let deps = p.services["web"].depends_on.clone().unwrap_or_default();
        assert_eq!(deps.keys().collect::<Vec<_>>(), ["cache", "db"]);
        assert!(deps["db"].restart && !deps["cache"].restart);
        assert_eq!(p.services["db"], Service::default());
        assert_eq!(p.origin.working_dir, std::path::PathBuf::from("/srv/app"));
        assert_eq!(p.origin.config_files.len(), 2);
    }
}
