//! The deployment files agree with the code: for every container of docker-compose.yml and of
//! each rendered Kubernetes overlay, every environment variable the binary needs in a
//! deployment is set, every variable set is one it reads, addresses point at a service on the
//! port that service listens on, and probes ask for `/readyz` and `/healthz`.
//!
//! What a binary reads comes from its clap definitions (`Arg::get_env`), so a new setting in
//! the code with a default that only works on a developer's machine fails here until the
//! deployments set it.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use clap::CommandFactory;
use serde_json::Value;

/// Variables read by libraries rather than by the clap definitions (and the allocator's,
/// `shop_platform::allocator::OPTIONS`).
const READ_OUTSIDE_CLAP: &[&str] = &["RUST_LOG"];
/// Optional in the code, but what the deployments are for: the gateway routes `/api/search`,
/// and search indexes into Meilisearch (its key, a secret, is required anyway).
const DEPLOYED_WITH: &[(&str, &str)] = &[("gateway", "SEARCH_UPSTREAMS"), ("search", "MEILI_URL")];
/// The probes every service answers (shared/platform's server and the gateway).
const READINESS_PATH: &str = "/readyz";
const LIVENESS_PATH: &str = "/healthz";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One environment variable a binary reads.
#[derive(Debug, Clone)]
struct Variable {
    name: String,
    /// Its clap id, e.g. `database_url`.
    id: String,
    /// Its default, if any.
    default: Option<String>,
    /// A secret: its default is the public development value.
    secret: bool,
}

impl Variable {
    /// Needed in a deployment: a secret, or a default that only works on a developer's
    /// machine (an address on loopback).
    fn required(&self) -> bool {
        self.secret
            || self
                .default
                .as_deref()
                .is_some_and(|d| d.contains("127.0.0.1") || d.contains("localhost"))
    }
}

fn variables(command: clap::Command) -> Vec<Variable> {
    let mut found = Vec::new();
    collect(&command, &mut found);
    found
}

fn collect(command: &clap::Command, found: &mut Vec<Variable>) {
    for arg in command.get_arguments() {
        if let Some(env) = arg.get_env() {
            found.push(Variable {
                name: env.to_string_lossy().into_owned(),
                id: arg.get_id().to_string(),
                default: arg
                    .get_default_values()
                    .first()
                    .map(|d| d.to_string_lossy().into_owned()),
                secret: arg.is_hide_env_values_set(),
            });
        }
    }
    for sub in command.get_subcommands() {
        collect(sub, found);
    }
}

/// The `shop` subcommand's own variables, from its help (the binary's clap definitions are not
/// a library): `[env: NAME=]`.
fn shop_subcommand_variables(subcommand: &str) -> Vec<String> {
    let help = Command::new(env!("CARGO_BIN_EXE_shop"))
        .args([subcommand, "--help"])
        .env_clear()
        .output()
        .expect("run shop --help");
    String::from_utf8_lossy(&help.stdout)
        .split("[env: ")
        .skip(1)
        .map(|rest| rest.split('=').next().unwrap().to_owned())
        .collect()
}

/// What one kind of container runs.
struct Binary {
    /// Every variable it reads.
    reads: BTreeSet<String>,
    /// Those a deployment must set.
    required: BTreeSet<String>,
    /// The port its listen address defaults to, for services.
    port: Option<u16>,
    /// The variable of its listen address.
    listen_variable: Option<String>,
}

fn service_commands() -> BTreeMap<&'static str, clap::Command> {
    BTreeMap::from([
        ("gateway", gateway::Config::command()),
        ("user", user_service::Config::command()),
        ("product", product_service::Config::command()),
        ("order", order_service::Config::command()),
        ("search", search_service::Config::command()),
    ])
}

/// The binaries by role: each service (`shop serve <name>`), and `seed`.
fn binaries() -> BTreeMap<String, Binary> {
    let serve = shop_subcommand_variables("serve");
    assert!(
        serve.contains(&"SHOP_SERVICE".to_owned()),
        "shop serve reads SHOP_SERVICE"
    );
    let mut binaries = BTreeMap::new();
    let mut seed_reads: BTreeSet<String> = shop_subcommand_variables("seed").into_iter().collect();
    let mut seed_required = BTreeSet::new();
    for (name, command) in service_commands() {
        let vars = variables(command);
        let listen = vars
            .iter()
            .find(|v| v.id == "listen_addr")
            .expect("every service has a listen address");
        let port = listen
            .default
            .as_deref()
            .and_then(|a| a.rsplit(':').next()?.parse().ok());
        // `shop seed` reads every service's configuration and opens their databases.
        seed_reads.extend(vars.iter().map(|v| v.name.clone()));
        seed_required.extend(vars.iter().filter(|v| v.id == "database_url").map(|v| v.name.clone()));
        let mut reads: BTreeSet<String> = vars.iter().map(|v| v.name.clone()).collect();
        reads.extend(serve.iter().cloned());
        let mut required: BTreeSet<String> = vars.iter().filter(|v| v.required()).map(|v| v.name.clone()).collect();
        required.insert("SHOP_SERVICE".into());
        binaries.insert(
            name.to_owned(),
            Binary {
                reads,
                required,
                port,
                listen_variable: Some(listen.name.clone()),
            },
        );
    }
    for (role, name) in DEPLOYED_WITH {
        let binary = binaries.get_mut(*role).unwrap();
        binary.reads.insert((*name).to_owned());
        binary.required.insert((*name).to_owned());
    }
    binaries.insert(
        "seed".into(),
        Binary {
            reads: seed_reads,
            required: seed_required,
            port: None,
            listen_variable: None,
        },
    );
    binaries
}

/// A container as a deployment file describes it.
#[derive(Debug, Clone)]
struct Container {
    /// Where it is described, for messages: `compose service user`.
    origin: String,
    /// `seed`, or the service it serves.
    role: String,
    /// Variable → value, with `${...}` / `$(...)` references left in.
    env: BTreeMap<String, String>,
    /// Variables that only feed `$(NAME)` references in other values (Kubernetes).
    helpers: BTreeSet<String>,
}

/// `host` and `port` of a URL-like value (`scheme://user:pass@host:port/path`).
fn host_port(value: &str) -> Option<(String, u16)> {
    let rest = value.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let (host, port) = authority.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

/// Removes compose `${...}` and Kubernetes `$(...)` references (they stand for secrets).
fn without_references(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let close = match rest[start + 1..].chars().next() {
            Some('{') => '}',
            Some('(') => ')',
            _ => {
                out.push('$');
                rest = &rest[start + 1..];
                continue;
            }
        };
        let end = rest[start..].find(close).expect("references are closed") + start;
        out.push_str("secret");
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Checks `containers` against the binaries; `ports` gives each addressable host's ports.
fn check(containers: &[Container], ports: &BTreeMap<String, BTreeSet<u16>>) -> Vec<String> {
    let binaries = binaries();
    let mut problems = Vec::new();
    for container in containers {
        let Some(binary) = binaries.get(&container.role) else {
            problems.push(format!(
                "{}: runs `{}`, which is no binary of the shop",
                container.origin, container.role
            ));
            continue;
        };
        for name in &binary.required {
            if !container.env.contains_key(name) {
                problems.push(format!("{}: {name} is not set", container.origin));
            }
        }
        for name in container.env.keys() {
            let known = binary.reads.contains(name)
                || READ_OUTSIDE_CLAP.contains(&name.as_str())
                || shop_platform::allocator::OPTIONS
                    .iter()
                    .any(|(option, _)| option == name)
                || container.helpers.contains(name);
            if !known {
                problems.push(format!(
                    "{}: sets {name}, which the {} binary does not read",
                    container.origin, container.role
                ));
            }
        }
        if let Some(variable) = &binary.listen_variable {
            let port = container
                .env
                .get(variable)
                .and_then(|a| a.rsplit(':').next()?.parse::<u16>().ok());
            if port != binary.port {
                problems.push(format!(
                    "{}: {variable} listens on {port:?}, the {} service's port is {:?}",
                    container.origin, container.role, binary.port
                ));
            }
        }
        for (name, value) in &container.env {
            for url in value.split(',').map(without_references) {
                let Some((host, port)) = host_port(&url) else { continue };
                match ports.get(&host) {
                    Some(served) if served.contains(&port) => {}
                    Some(served) => problems.push(format!(
                        "{}: {name} points at {host}:{port}, which serves {served:?}",
                        container.origin
                    )),
                    None => problems.push(format!(
                        "{}: {name} points at {host}, which is not deployed",
                        container.origin
                    )),
                }
            }
        }
    }
    problems
}

fn assert_consistent(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{what} disagrees with the code:\n  {}",
        problems.join("\n  ")
    );
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect()
        })
        .unwrap_or_default()
}

// --- docker-compose.yml -----------------------------------------------------------------------

fn compose() -> Value {
    let text = std::fs::read_to_string(repo_root().join("docker-compose.yml")).unwrap();
    let mut yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    yaml.apply_merge().unwrap();
    let mut json = serde_json::to_value(yaml).unwrap();
    // Nested merges (an anchor that itself merges another) need a second pass.
    let mut again: serde_yaml_ng::Value = serde_json::from_value(json.clone()).unwrap();
    again.apply_merge().unwrap();
    json = serde_json::to_value(again).unwrap();
    json
}

fn compose_containers(compose: &Value) -> Vec<Container> {
    let mut containers = Vec::new();
    for (name, service) in compose["services"].as_object().unwrap() {
        if service["image"].as_str() != Some("shop:latest") {
            continue;
        }
        let env = string_map(&service["environment"]);
        let command: Vec<&str> = service["command"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let role = match command.as_slice() {
            ["seed"] => "seed".to_owned(),
            // The image's default command is `serve`, for the service SHOP_SERVICE names.
            [] => env.get("SHOP_SERVICE").cloned().unwrap_or_default(),
            other => other.join(" "),
        };
        containers.push(Container {
            origin: format!("compose service {name}"),
            role,
            env,
            helpers: BTreeSet::new(),
        });
    }
    containers
}

#[test]
fn docker_compose_sets_what_every_binary_needs() {
    let compose = compose();
    let containers = compose_containers(&compose);
    let roles: BTreeSet<&str> = containers.iter().map(|c| c.role.as_str()).collect();
    assert_eq!(
        roles,
        BTreeSet::from(["gateway", "order", "product", "search", "seed", "user"])
    );
    let binaries = binaries();
    // Each service is reachable under its compose name on its own port; infrastructure on its
    // image's standard port.
    let mut ports: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for container in &containers {
        if let Some(port) = binaries[&container.role].port {
            ports.insert(
                container.origin.trim_start_matches("compose service ").to_owned(),
                [port].into(),
            );
        }
    }
    for (name, service) in compose["services"].as_object().unwrap() {
        let image = service["image"].as_str().unwrap_or_default();
        let standard = [
            ("postgres:", 5432),
            ("nats:", 4222),
            ("redis:", 6379),
            ("getmeili/meilisearch:", 7700),
        ];
        if let Some((_, port)) = standard.iter().find(|(prefix, _)| image.starts_with(prefix)) {
            ports.insert(name.clone(), [*port].into());
        }
    }
    assert_consistent("docker-compose.yml", check(&containers, &ports));

    // Only the gateway is published, on its own port.
    for (name, service) in compose["services"].as_object().unwrap() {
        let published: Vec<String> = service["ports"]
            .as_array()
            .map(|p| p.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let public = published
            .iter()
            .filter(|p| !p.starts_with("127.0.0.1:"))
            .collect::<Vec<_>>();
        match name.as_str() {
            "gateway" => assert_eq!(public, ["${SHOP_PORT:-8080}:8080"], "the gateway's published port"),
            _ => assert!(public.is_empty(), "{name} publishes {public:?}"),
        }
    }
}

#[test]
fn the_image_checks_health_with_the_service_it_runs() {
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    let line = |prefix: &str| {
        dockerfile
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("the Dockerfile has a {prefix}"))
            .to_owned()
    };
    assert!(line("HEALTHCHECK").ends_with(r#"CMD ["shop", "probe"]"#));
    assert_eq!(line("ENTRYPOINT"), r#"ENTRYPOINT ["shop"]"#);
    assert_eq!(line("CMD"), r#"CMD ["serve"]"#);
    // `shop probe` asks the service SHOP_SERVICE names, on the port that service reads.
    assert!(shop_subcommand_variables("probe").contains(&"SHOP_SERVICE".to_owned()));
}

// --- Kubernetes -------------------------------------------------------------------------------

fn render(overlay: &str) -> Vec<Value> {
    let output = Command::new("kubectl")
        .args([
            "kustomize",
            &repo_root().join("k8s/overlays").join(overlay).to_string_lossy(),
        ])
        .output()
        .expect("kubectl (with kustomize) is installed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_yaml_ng::Deserializer::from_slice(&output.stdout)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .collect()
}

fn overlays() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("k8s/overlays"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every pod template's containers, with their environment resolved through the ConfigMaps
/// and Secrets they name (which must exist, with the key).
fn kubernetes_containers(objects: &[Value], problems: &mut Vec<String>) -> Vec<(Container, Value)> {
    let named = |kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    };
    let keys = |object: Option<&Value>| -> BTreeSet<String> {
        object
            .map(|o| {
                ["data", "stringData"]
                    .iter()
                    .flat_map(|field| string_map(&o[*field]).into_keys())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut containers = Vec::new();
    for object in objects {
        let kind = object["kind"].as_str().unwrap_or_default();
        let pod = match kind {
            "Deployment" | "StatefulSet" | "Job" => &object["spec"]["template"]["spec"],
            _ => continue,
        };
        for spec in pod["containers"].as_array().unwrap() {
            if !spec["image"].as_str().unwrap_or_default().contains("shop") {
                continue;
            }
            let origin = format!(
                "{kind} {} container {}",
                object["metadata"]["name"].as_str().unwrap(),
                spec["name"].as_str().unwrap()
            );
            let mut env = BTreeMap::new();
            for source in spec["envFrom"].as_array().into_iter().flatten() {
                let name = source["configMapRef"]["name"].as_str().unwrap_or_default();
                let config_map = named("ConfigMap", name);
                if config_map.is_none() {
                    problems.push(format!("{origin}: envFrom names a missing ConfigMap {name}"));
                }
                env.extend(string_map(&config_map.cloned().unwrap_or_default()["data"]));
            }
            for variable in spec["env"].as_array().into_iter().flatten() {
                let name = variable["name"].as_str().unwrap().to_owned();
                let value = match &variable["value"] {
                    Value::String(value) => value.clone(),
                    _ => {
                        let (kind, reference) = match &variable["valueFrom"] {
                            from if from["secretKeyRef"].is_object() => ("Secret", &from["secretKeyRef"]),
                            from => ("ConfigMap", &from["configMapKeyRef"]),
                        };
                        let (object, key) = (
                            reference["name"].as_str().unwrap_or_default(),
                            reference["key"].as_str().unwrap_or_default(),
                        );
                        if !keys(named(kind, object)).contains(key) {
                            problems.push(format!(
                                "{origin}: {name} comes from {kind} {object} key {key}, which does not exist"
                            ));
                        }
                        "$(from-reference)".to_owned()
                    }
                };
                env.insert(name, value);
            }
            let helpers = env
                .keys()
                .filter(|name| env.values().any(|v| v.contains(&format!("$({name})"))))
                .cloned()
                .collect();
            let args: Vec<&str> = spec["args"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let role = match args.as_slice() {
                ["serve"] => env.get("SHOP_SERVICE").cloned().unwrap_or_default(),
                other => other.join(" "),
            };
            containers.push((
                Container {
                    origin,
                    role,
                    env,
                    helpers,
                },
                spec.clone(),
            ));
        }
    }
    containers
}

/// What the CloudNativePG operator makes for each of its `Cluster`s: the Services
/// `<name>-rw` (the primary), `-ro` (the standbys) and `-r` (any instance), and the Secret
/// `<name>-app` with the owner's credentials.
fn made_by_the_postgres_operator(objects: &[Value]) -> Vec<Value> {
    objects
        .iter()
        .filter(|o| o["kind"] == "Cluster" && o["apiVersion"] == "postgresql.cnpg.io/v1")
        .flat_map(|cluster| {
            let name = cluster["metadata"]["name"].as_str().unwrap();
            let services = ["rw", "ro", "r"].map(|role| {
                serde_json::json!({"kind": "Service", "metadata": {"name": format!("{name}-{role}")},
                                   "spec": {"ports": [{"port": 5432}]}})
            });
            let secret = serde_json::json!({"kind": "Secret", "metadata": {"name": format!("{name}-app")},
                "data": {"username": "", "password": "", "host": "", "port": "", "dbname": "", "uri": ""}});
            services.into_iter().chain([secret])
        })
        .collect()
}

/// Each pod of a StatefulSet by its name under its headless Service (`nats-0.nats-cluster`),
/// with the Service's ports.
fn pod_names(objects: &[Value], services: &BTreeMap<String, BTreeSet<u16>>) -> BTreeMap<String, BTreeSet<u16>> {
    let mut names = BTreeMap::new();
    for set in objects.iter().filter(|o| o["kind"] == "StatefulSet") {
        let service = set["spec"]["serviceName"].as_str().unwrap_or_default();
        let headless = objects
            .iter()
            .any(|o| o["kind"] == "Service" && o["metadata"]["name"] == service && o["spec"]["clusterIP"] == "None");
        if let (true, Some(served)) = (headless, services.get(service)) {
            for pod in 0..set["spec"]["replicas"].as_u64().unwrap_or(1) {
                names.insert(
                    format!("{}-{pod}.{service}", set["metadata"]["name"].as_str().unwrap()),
                    served.clone(),
                );
            }
        }
    }
    names
}

#[test]
fn every_kubernetes_overlay_sets_what_every_binary_needs_and_probes_what_it_serves() {
    let binaries = binaries();
    for overlay in overlays() {
        let mut objects = render(&overlay);
        objects.extend(made_by_the_postgres_operator(&objects));
        let mut problems = Vec::new();
        let containers = kubernetes_containers(&objects, &mut problems);
        let roles: BTreeSet<&str> = containers.iter().map(|(c, _)| c.role.as_str()).collect();
        for service in service_commands().keys() {
            assert!(roles.contains(service), "overlay {overlay} runs no {service} service");
        }
        // Each Service's ports, by its name (what other containers' URLs name).
        let mut ports: BTreeMap<String, BTreeSet<u16>> = objects
            .iter()
            .filter(|o| o["kind"] == "Service")
            .map(|o| {
                let ports = o["spec"]["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["port"].as_u64().unwrap() as u16);
                (o["metadata"]["name"].as_str().unwrap().to_owned(), ports.collect())
            })
            .collect();
        ports.extend(pod_names(&objects, &ports));
        let bare: Vec<Container> = containers.iter().map(|(c, _)| c.clone()).collect();
        problems.extend(check(&bare, &ports));
        for (container, spec) in &containers {
            let Some(port) = binaries.get(&container.role).and_then(|b| b.port) else {
                continue;
            };
            let declared: Vec<u64> = spec["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["containerPort"].as_u64().unwrap())
                .collect();
            if declared != [u64::from(port)] {
                problems.push(format!(
                    "{}: declares ports {declared:?}, the service listens on {port}",
                    container.origin
                ));
            }
            for (probe, path) in [
                ("readinessProbe", READINESS_PATH),
                ("livenessProbe", LIVENESS_PATH),
                ("startupProbe", LIVENESS_PATH),
            ] {
                let get = &spec[probe]["httpGet"];
                if get["path"] != path || (get["port"] != "http" && get["port"] != port) {
                    problems.push(format!(
                        "{}: {probe} asks {} on port {}, expected {path} on {port}",
                        container.origin, get["path"], get["port"]
                    ));
                }
            }
            // The Service in front sends its traffic to that port.
            let service = objects
                .iter()
                .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == container.role.as_str());
            let target = service.map(|s| s["spec"]["ports"][0].clone()).unwrap_or_default();
            if target["port"] != port || (target["targetPort"] != "http" && target["targetPort"] != port) {
                problems.push(format!(
                    "Service {}: {target} does not lead to port {port}",
                    container.role
                ));
            }
        }
        assert_consistent(&format!("k8s/overlays/{overlay}"), problems);
    }
}
