//! Named, external, bind, tmpfs and NFS volumes against the real engine.

use stack_e2e::{docker, DockerCleanup, TestStack};

fn name(s: &TestStack, service: &str) -> String {
    format!("{}-{service}-1", s.project)
}

const DB: &str = "services:\n  db:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    environment: {V: '1'}\n    volumes: ['data:/data']\nvolumes:\n  data: {}\n";

#[test]
fn named_volume_data_survives_recreate_stop_start_and_down() {
    let s = TestStack::new("voldata", DB);
    s.ok(&["up", "-d"]);
    let c = name(&s, "db");
    assert_eq!(s.exec(&c, &["sh", "-c", "echo precious > /data/file"]).0, 0);
    let read = |s: &TestStack| {
        s.exec(&name(s, "db"), &["cat", "/data/file"])
            .1
            .trim()
            .to_string()
    };
    // A config change recreates the container, not the volume.
    s.write(&DB.replace("V: '1'", "V: '2'"));
    let before = s.containers();
    s.ok(&["up", "-d"]);
    assert_ne!(before[&c], s.containers()[&c]);
    assert_eq!(read(&s), "precious");
    s.ok(&["stop", "--timeout", "1"]);
    s.ok(&["start"]);
    assert_eq!(read(&s), "precious");
    s.ok(&["down", "--timeout", "1"]);
    s.ok(&["up", "-d"]);
    assert_eq!(read(&s), "precious");
    s.ok(&["down", "-v", "--timeout", "1"]);
    assert!(s.volumes().is_empty());
}

#[test]
fn an_external_volume_is_used_and_survives_down_v() {
    let ext = format!("test-external-vol-{}", std::process::id());
    docker(&["volume", "create", &ext]);
    let _guard = DockerCleanup::remove("volume", &ext);
    let yaml = format!(
        "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    volumes: ['shared:/shared']\nvolumes:\n  shared:\n    external: true\n    name: {ext}\n"
    );
    let s = TestStack::new("volext", &yaml);
    s.ok(&["up", "-d"]);
    assert_eq!(
        s.exec(&name(&s, "app"), &["sh", "-c", "echo x > /shared/f"])
            .0,
        0
    );
    s.ok(&["down", "-v", "--timeout", "1"]);
    assert_eq!(
        docker(&["volume", "ls", "-q", "--filter", &format!("name=^{ext}$")]).trim(),
        ext
    );
}

#[test]
fn a_missing_external_volume_is_refused_before_anything_changes() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    volumes: ['shared:/shared']\nvolumes:\n  shared:\n    external: true\n    name: test-no-such-volume-anywhere\n";
    let s = TestStack::new("volextmissing", yaml);
    let out = s.run(&["up", "-d"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("external volume `test-no-such-volume-anywhere` does not exist"));
    // The advice names the command of the engine in use.
    assert!(
        stderr.contains("`docker volume create test-no-such-volume-anywhere`"),
        "{stderr}"
    );
    assert!(s.containers().is_empty() && s.networks().is_empty());
}

#[test]
fn a_changed_volume_definition_is_refused_then_recreated_on_request() {
    let s = TestStack::new("volchange", DB);
    s.ok(&["up", "-d"]);
    assert_eq!(
        s.exec(&name(&s, "db"), &["sh", "-c", "echo old > /data/file"])
            .0,
        0
    );
    s.write(&DB.replace("  data: {}", "  data:\n    labels: {tier: gold}"));
    let out = s.run(&["up", "-d"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exists with another definition"), "{err}");
    assert!(err.contains("--recreate-volumes"), "{err}");
    // Nothing was touched: the data is still there.
    assert_eq!(
        s.exec(&name(&s, "db"), &["cat", "/data/file"]).1.trim(),
        "old"
    );
    s.ok(&["up", "-d", "--recreate-volumes"]);
    assert_ne!(
        s.exec(&name(&s, "db"), &["cat", "/data/file"]).0,
        0,
        "the volume should be new and empty"
    );
    let label = docker(&[
        "volume",
        "inspect",
        "-f",
        "{{index .Labels \"tier\"}}",
        &s.volumes()[0],
    ]);
    assert_eq!(label.trim(), "gold");
    s.assert_converged();
}

#[test]
fn bind_mounts_resolve_against_the_project_directory() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    volumes: ['./conf:/conf:ro', './made-for-you:/made']\n";
    let s = TestStack::new("volbind", yaml);
    std::fs::create_dir_all(s.dir.join("conf")).unwrap();
    std::fs::write(s.dir.join("conf/app.ini"), "from-the-project-dir\n").unwrap();
    // Run from elsewhere: relative paths still mean the project directory.
    let out = s
        .command(&["-f", s.dir.join("stack.yaml").to_str().unwrap(), "up", "-d"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = name(&s, "app");
    assert_eq!(
        s.exec(&c, &["cat", "/conf/app.ini"]).1.trim(),
        "from-the-project-dir"
    );
    assert_ne!(
        s.exec(&c, &["touch", "/conf/x"]).0,
        0,
        "a :ro bind mount must be read-only"
    );
    assert!(
        s.dir.join("made-for-you").is_dir(),
        "a missing bind source is created as a directory"
    );
}

#[test]
fn a_missing_bind_source_with_create_host_path_false_is_refused() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    volumes:\n      - type: bind\n        source: ./absent\n        target: /x\n        bind: {create_host_path: false}\n";
    let s = TestStack::new("volbindno", yaml);
    let out = s.run(&["up", "-d"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("service `app`: bind mount source")
            && String::from_utf8_lossy(&out.stderr)
                .contains("`create_host_path: false` forbids creating it")
    );
    assert!(!s.dir.join("absent").exists());
    // Refused before anything was created.
    assert!(s.networks().is_empty() && s.containers().is_empty());
}

#[test]
fn bind_options_reach_the_engine_and_newer_ones_are_refused_by_its_api() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    volumes:\n      - ./labelled:/labelled:ro,z\n      - type: bind\n        source: ./private\n        target: /private\n        bind: {propagation: private, recursive: disabled}\n";
    let s = TestStack::new("volbindopts", yaml);
    s.ok(&["up", "-d"]);
    let c = name(&s, "app");
    // SELinux relabelling only exists in the engine's older `Binds` form.
    let binds = docker(&["inspect", "-f", "{{json .HostConfig.Binds}}", &c]);
    assert!(binds.contains("/labelled:/labelled:ro,z"), "{binds}");
    let mounts = docker(&["inspect", "-f", "{{json .HostConfig.Mounts}}", &c]);
    assert!(
        mounts.contains(r#""Propagation":"private""#) && mounts.contains(r#""NonRecursive":true"#),
        "{mounts}"
    );
    assert_ne!(s.exec(&c, &["touch", "/labelled/x"]).0, 0, "ro");
    assert_eq!(s.exec(&c, &["touch", "/private/x"]).0, 0);
    s.assert_converged();

    // What API 1.41 cannot do is refused before anything changes, naming
    // the API it needs.
    let newer = "services:\n  app:\n    image: busybox:1.36\n    volumes:\n      - type: volume\n        source: data\n        target: /data\n        volume: {subpath: sub}\n      - type: bind\n        source: ./ro\n        target: /ro\n        read_only: true\n        bind: {recursive: readonly}\nvolumes:\n  data: {}\n";
    let api = docker(&["version", "-f", "{{.Server.APIVersion}}"]);
    let minor: u32 = api.trim().trim_start_matches("1.").parse().unwrap_or(0);
    if minor >= 44 {
        eprintln!("the engine speaks API {api}: nothing here to refuse");
        return;
    }
    let t = TestStack::new("volbindnew", newer);
    let out = t.run(&["up", "-d"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("`volume.subpath` (at /data) needs Docker Engine API 1.45")
            && err.contains(
                "`bind.recursive: writable` or `readonly` (at /ro) needs Docker Engine API 1.44"
            ),
        "{err}"
    );
    assert!(t.containers().is_empty() && t.volumes().is_empty());
}

#[test]
fn tmpfs_is_empty_after_a_restart() {
    let yaml = "services:\n  app:\n    image: busybox:1.36\n    init: true\n    command: [sleep, '3600']\n    volumes:\n      - type: tmpfs\n        target: /scratch\n        tmpfs: {size: 1m}\n";
    let s = TestStack::new("voltmpfs", yaml);
    s.ok(&["up", "-d"]);
    let c = name(&s, "app");
    assert_eq!(
        s.exec(
            &c,
            &["sh", "-c", "echo x > /scratch/f && test -f /scratch/f"]
        )
        .0,
        0
    );
    let (_, df) = s.exec(&c, &["df", "-k", "/scratch"]);
    assert!(df.contains("1024"), "a 1m tmpfs: {df}");
    s.ok(&["restart", "--timeout", "1"]);
    assert_ne!(s.exec(&c, &["test", "-f", "/scratch/f"]).0, 0);
}

#[test]
fn nfs_volumes_get_exactly_the_local_drivers_options() {
    // Declared, not mounted (this kernel has no NFS client): --skip-preflight
    // keeps the test from contacting any server.
    let yaml = "services:\n  app:\n    image: busybox:1.36\nvolumes:\n  long:\n    driver: local\n    driver_opts: {type: nfs, o: 'addr=10.0.0.5,rw,nfsvers=4', device: ':/export/data'}\n  short:\n    nfs: {server: 10.0.0.5, path: /export/data, options: [rw, nfsvers=4]}\n";
    let s = TestStack::new("volnfs", yaml);
    s.ok(&["up", "-d", "--skip-preflight"]);
    for key in ["long", "short"] {
        let v = format!("{}_{key}", s.project);
        let inspect = docker(&[
            "volume",
            "inspect",
            "-f",
            "{{.Driver}} {{json .Options}}",
            &v,
        ]);
        assert_eq!(
            inspect.trim(),
            r#"local {"device":":/export/data","o":"addr=10.0.0.5,rw,nfsvers=4","type":"nfs"}"#,
            "{key}"
        );
    }
}

#[test]
fn nfs_preflight_names_volume_service_and_server() {
    // A closed port on loopback: refused at once, and nothing is created.
    let yaml = "services:\n  files:\n    image: busybox:1.36\n    volumes: ['shared:/srv']\nvolumes:\n  shared:\n    nfs: {server: 127.0.0.1, path: /export, options: [rw, port=9]}\n";
    let s = TestStack::new("volnfspre", yaml);
    let out = s.run(&["up", "-d"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NFS volume `shared` (used by `files`)"),
        "{err}"
    );
    assert!(err.contains("server 127.0.0.1:9 does not answer"), "{err}");
    assert!(err.contains("--skip-preflight"), "{err}");
    assert!(s.volumes().is_empty() && s.containers().is_empty());
}

#[test]
fn an_nfs_mount_failure_is_reported_with_the_engines_message_and_a_hint() {
    let yaml = "services:\n  files:\n    image: busybox:1.36\n    command: [sleep, '3600']\n    volumes: ['shared:/srv']\nvolumes:\n  shared:\n    nfs: {server: 127.0.0.1, path: /export, options: [rw, port=9]}\n";
    let s = TestStack::new("volnfsmount", yaml);
    let out = s.run(&["up", "-d", "--skip-preflight"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("failed to mount local volume"),
        "the engine's message: {err}"
    );
    assert!(
        err.contains("it mounts the NFS volume `shared` from 127.0.0.1"),
        "{err}"
    );
    assert!(err.contains("TCP port 9 is reachable"), "{err}");
    // The next run starts the container it left created, and says the same.
    let again = s.run(&["up", "-d", "--skip-preflight"]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("it mounts the NFS volume `shared`"), "{err}");
}
