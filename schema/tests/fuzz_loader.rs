//! Property tests: whatever the input, loading returns `Ok` or diagnostics;
//! it never panics, and alias expansion stays bounded.
//!
//! Two generators: arbitrary text (mostly stopped by the YAML parser), and
//! stack-shaped YAML assembled from real keys and awkward values, which
//! reaches interpolation, merging, typing, validation and linting.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;

static CASE: AtomicUsize = AtomicUsize::new(0);

/// Load `text` as a stack file (and `over` as an override file) from a
/// fresh temporary directory.
fn load(text: &str, over: Option<&str>) -> Result<schema::Loaded, schema::Diagnostics> {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "stack-fuzz-{}-{}",
        std::process::id(),
        CASE.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("stack.yaml"), text).expect("write");
    let mut files = vec![PathBuf::from("stack.yaml")];
    if let Some(o) = over {
        std::fs::write(dir.join("override.yaml"), o).expect("write");
        files.push("override.yaml".into());
    }
    let result = schema::load(&schema::Options {
        working_dir: dir.clone(),
        stack: schema::StackInputs {
            files,
            project_name: Some("fuzz".into()),
            ..Default::default()
        },
        ..Default::default()
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

const KEYS: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "volumes_from",
    "networks",
    "network_mode",
    "pid",
    "ipc",
    "depends_on",
    "healthcheck",
    "restart",
    "deploy",
    "scale",
    "init",
    "labels",
    "extends",
    "profiles",
    "tmpfs",
    "ulimits",
    "secrets",
    "container_name",
    "extra_hosts",
    "build",
    "test",
    "interval",
    "replicas",
    "condition",
    "target",
    "source",
    "type",
    "published",
    "aliases",
    "ipv4_address",
    "<<",
    "x-ext",
    "nfs",
    "driver_opts",
    "ipam",
    "config",
    "subnet",
    "external",
    "name",
];

const SCALARS: &[&str] = &[
    "",
    "~",
    "0",
    "-1",
    "65536",
    "8080:80",
    "1.2.3.4:80:80/udp",
    "8080-8082:80",
    "a:b:c:d",
    "./x:/y:ro",
    "/abs",
    "data:/data",
    "service:web",
    "container:x",
    "${A}",
    "${A:-x}",
    "${A:?boom}",
    "${",
    "$$",
    "10s",
    "1m30s",
    "512m",
    "0440",
    "true",
    "no",
    "[",
    "web",
    "db",
    "CMD-SHELL",
    "NONE",
    "service_healthy",
    "on-failure:3",
    "10.0.0.0/8",
    "\u{1F600}",
];

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(SCALARS).prop_map(|s| format!("{s:?}")),
        "[a-z0-9:/._-]{0,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    let leaf = scalar();
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5)
                .prop_map(|v| format!("[{}]", v.join(", "))),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..5).prop_map(
                |kv| {
                    let body: Vec<String> =
                        kv.into_iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
                    format!("{{{}}}", body.join(", "))
                }
            ),
        ]
    })
}

fn stack_file() -> impl Strategy<Value = String> {
    let service = proptest::collection::vec((proptest::sample::select(KEYS), value()), 0..8);
    let services = proptest::collection::vec(("[a-d]{1,2}", service), 0..4);
    let top = proptest::collection::vec(
        (
            proptest::sample::select(&["networks", "volumes", "secrets", "include", "name"][..]),
            value(),
        ),
        0..3,
    );
    (services, top).prop_map(|(services, top)| {
        let mut doc = String::from("services:\n");
        for (name, fields) in services {
            doc.push_str(&format!("  {name}:\n"));
            for (k, v) in fields {
                doc.push_str(&format!("    {k:?}: {v}\n"));
            }
        }
        for (k, v) in top {
            doc.push_str(&format!("{k}: {v}\n"));
        }
        doc
    })
}

// Case count: proptest's default (256), or PROPTEST_CASES for a longer run.
proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = load(&text, None);
    }

    #[test]
    fn stack_shaped_yaml_never_panics(doc in stack_file(), over in proptest::option::of(stack_file())) {
        match load(&doc, over.as_deref()) {
            Ok(loaded) => {
                // A loaded project always has a name and serializes.
                prop_assert!(loaded.project.name.is_some());
                prop_assert!(serde_json::to_string(&loaded.project).is_ok());
            }
            Err(diags) => prop_assert!(diags.errors().count() > 0),
        }
    }
}

#[test]
fn nested_aliases_are_refused_before_expanding() {
    let mut doc = String::from("x-0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..40 {
        doc.push_str(&format!(
            "x-{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    doc.push_str("services: {}\n");
    let err = load(&doc, None).expect_err("an alias bomb must be refused");
    assert!(err.to_string().contains("alias bomb"), "{err}");
}
