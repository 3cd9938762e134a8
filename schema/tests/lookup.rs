//! Which files a load reads when no `-f` is given, as Compose finds them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stack-lookup-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts(dir: &Path, env: &[(&str, &str)]) -> schema::Options {
    schema::Options {
        working_dir: dir.to_path_buf(),
        stack: schema::StackInputs {
            project_name: Some("lookup".into()),
            ..Default::default()
        },
        environment: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    }
}

const MAIN: &str = "services:\n  web:\n    image: busybox:1.36\n    environment: {FROM: main}\n";

#[test]
fn the_override_file_beside_the_main_one_is_merged_after_it() {
    let d = scratch("override");
    std::fs::write(d.join("compose.yaml"), MAIN).unwrap();
    std::fs::write(
        d.join("compose.override.yaml"),
        "services:\n  web:\n    environment: {FROM: override}\n",
    )
    .unwrap();
    let loaded = schema::load(&opts(&d, &[])).unwrap();
    assert_eq!(
        loaded.files,
        vec![d.join("compose.yaml"), d.join("compose.override.yaml")]
    );
    let env = &loaded.project.services["web"]
        .environment
        .as_ref()
        .unwrap()
        .0;
    assert_eq!(env["FROM"].as_deref(), Some("override"));
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_parent_directory_holding_the_file_is_found_from_below() {
    let d = scratch("parent");
    std::fs::write(d.join("docker-compose.yml"), MAIN).unwrap();
    let sub = d.join("src/app");
    std::fs::create_dir_all(&sub).unwrap();
    let loaded = schema::load(&opts(&sub, &[])).unwrap();
    assert_eq!(loaded.files, vec![d.join("docker-compose.yml")]);
    assert_eq!(loaded.project_dir, d);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn compose_file_lists_the_files_with_its_separator() {
    let d = scratch("envfile");
    std::fs::write(d.join("base.yaml"), MAIN).unwrap();
    std::fs::write(
        d.join("prod.yaml"),
        "services:\n  web:\n    environment: {FROM: prod}\n",
    )
    .unwrap();
    let loaded = schema::load(&opts(&d, &[("COMPOSE_FILE", "base.yaml:prod.yaml")])).unwrap();
    assert_eq!(loaded.files, vec![d.join("base.yaml"), d.join("prod.yaml")]);
    let loaded = schema::load(&opts(
        &d,
        &[
            ("COMPOSE_FILE", "base.yaml;prod.yaml"),
            ("COMPOSE_PATH_SEPARATOR", ";"),
        ],
    ))
    .unwrap();
    assert_eq!(loaded.files.len(), 2);
    // Ours first.
    let loaded = schema::load(&opts(
        &d,
        &[
            ("STACK_FILE", "base.yaml"),
            ("COMPOSE_FILE", "base.yaml:prod.yaml"),
        ],
    ))
    .unwrap();
    assert_eq!(loaded.files, vec![d.join("base.yaml")]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn compose_env_files_replace_dot_env() {
    let d = scratch("envfiles");
    std::fs::write(
        d.join("compose.yaml"),
        "services:\n  web:\n    image: busybox:${TAG}\n",
    )
    .unwrap();
    std::fs::write(d.join(".env"), "TAG=wrong\n").unwrap();
    std::fs::write(d.join("a.env"), "TAG=1.36\n").unwrap();
    let loaded = schema::load(&opts(&d, &[("COMPOSE_ENV_FILES", "a.env")])).unwrap();
    assert_eq!(
        loaded.project.services["web"].image.as_deref(),
        Some("busybox:1.36")
    );
    std::fs::remove_dir_all(&d).unwrap();
}
