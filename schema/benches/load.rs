//! Loading a generated 1,000-service stack file (anchors, merge keys,
//! interpolation, depends_on, ports, volumes, healthchecks) and building
//! its dependency graph. Run with `cargo bench -p stack-schema`.
//!
//! Prints the median and best of several runs; the target is < 50 ms.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

const SERVICES: usize = 1000;
const RUNS: usize = 15;

fn generate() -> String {
    let mut doc = String::from(
        "x-defaults: &defaults\n  image: \"busybox:${TAG:-1.36}\"\n  restart: unless-stopped\n  init: true\n  \
         logging:\n    driver: json-file\n    options: {max-size: 10m}\n  \
         healthcheck:\n    test: [\"CMD-SHELL\", \"test -f /tmp/ready\"]\n    interval: 5s\n    retries: 3\n\
         services:\n",
    );
    for i in 0..SERVICES {
        let _ = write!(
            doc,
            "  svc{i}:\n    <<: *defaults\n    command: sh -c \"echo ${{GREETING:-hello}} {i} && sleep 3600\"\n    \
             environment:\n      - INDEX={i}\n      - REGION=${{REGION:-eu}}\n    \
             ports: [\"{port}:80\"]\n    volumes: [\"data{v}:/data\", \"./conf/{i}:/etc/app:ro\"]\n    \
             networks: [net{n}]\n",
            port = 20000 + i,
            v = i % 10,
            n = i % 5,
        );
        if i > 0 {
            let _ = writeln!(
                doc,
                "    depends_on:\n      svc{}:\n        condition: service_healthy",
                i / 2
            );
        }
    }
    doc.push_str("volumes:\n");
    for v in 0..10 {
        let _ = writeln!(doc, "  data{v}: {{}}");
    }
    doc.push_str("networks:\n");
    for n in 0..5 {
        let _ = writeln!(doc, "  net{n}: {{}}");
    }
    doc
}

fn main() {
    let dir = std::env::temp_dir().join(format!("stack-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = generate();
    std::fs::write(dir.join("stack.yaml"), &text).expect("write");
    let opts = schema::Options {
        working_dir: dir.clone(),
        stack: schema::StackInputs {
            project_name: Some("bench".into()),
            ..Default::default()
        },
        environment: std::env::vars().collect(),
        ..Default::default()
    };
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut waves = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let loaded = match schema::load(&opts) {
            Ok(l) => l,
            Err(d) => panic!("generated file must load:\n{d}"),
        };
        let graph = schema::ServiceGraph::new(&loaded.project);
        waves = graph.parallel_groups().len();
        times.push(start.elapsed());
        assert_eq!(loaded.project.services.len(), SERVICES);
    }
    let _ = std::fs::remove_dir_all(&dir);
    times.sort();
    println!(
        "load + graph, {SERVICES} services ({} KiB, {waves} start waves): median {:.1} ms, best {:.1} ms over {RUNS} runs",
        text.len() / 1024,
        times[RUNS / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
    );
}
