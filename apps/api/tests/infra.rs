//! infra/: every Kustomize overlay and every Helm values file renders, and
//! every rendered object deserializes into the Kubernetes API types (k8s-openapi)
//! with no unknown field anywhere — a typo such as `readinesProbe` fails here,
//! not at `kubectl apply`. Then the properties the deploy relies on are checked.

mod support;

use std::path::Path;
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::serde::de::DeserializeOwned;

const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "production"];

/// The typed objects of one rendering.
#[derive(Default, Debug)]
struct Objects {
    deployments: Vec<Deployment>,
    services: Vec<Service>,
    ingresses: Vec<Ingress>,
    hpas: Vec<HorizontalPodAutoscaler>,
    pdbs: Vec<PodDisruptionBudget>,
    jobs: Vec<Job>,
    config_maps: Vec<ConfigMap>,
    service_accounts: Vec<ServiceAccount>,
}

/// Deserializes `value` as `T`, failing on a wrong `apiVersion` or on any field
/// the API type does not have.
fn strict<T: DeserializeOwned + k8s_openapi::Resource>(
    value: serde_yaml::Value,
    source: &str,
) -> T {
    let api_version = value["apiVersion"].as_str().unwrap_or("").to_owned();
    assert_eq!(
        api_version,
        T::API_VERSION,
        "{source}: {} has apiVersion {api_version}",
        T::KIND
    );
    let mut unknown = Vec::new();
    let object: T = serde_ignored::deserialize(value, |path| unknown.push(path.to_string()))
        .unwrap_or_else(|e| panic!("{source}: invalid {}: {e}", T::KIND));
    assert!(
        unknown.is_empty(),
        "{source}: {} has fields the API does not know: {unknown:?}",
        T::KIND
    );
    object
}

fn validate(yaml: &str, source: &str) -> Objects {
    let mut objects = Objects::default();
    for document in serde_yaml::Deserializer::from_str(yaml) {
        let value = serde_yaml::Value::deserialize(document)
            .unwrap_or_else(|e| panic!("{source}: not YAML: {e}"));
        if value.is_null() {
            continue;
        }
        let kind = value["kind"].as_str().unwrap_or("").to_owned();
        match kind.as_str() {
            "Deployment" => objects.deployments.push(strict(value, source)),
            "Service" => objects.services.push(strict(value, source)),
            "Ingress" => objects.ingresses.push(strict(value, source)),
            "HorizontalPodAutoscaler" => objects.hpas.push(strict(value, source)),
            "PodDisruptionBudget" => objects.pdbs.push(strict(value, source)),
            "Job" => objects.jobs.push(strict(value, source)),
            "ConfigMap" => objects.config_maps.push(strict(value, source)),
            "ServiceAccount" => objects.service_accounts.push(strict(value, source)),
            "Secret" => panic!("{source}: a Secret is rendered; secrets are never in git"),
            other => panic!("{source}: unexpected kind {other:?}"),
        }
    }
    objects
}

use serde::Deserialize as _;

/// What every environment must have, whichever tool rendered it.
fn check_invariants(objects: &Objects, source: &str) -> (i32, i32, String) {
    assert_eq!(objects.deployments.len(), 1, "{source}: one Deployment");
    for (kind, n) in [
        ("Service", objects.services.len()),
        ("Ingress", objects.ingresses.len()),
        ("HorizontalPodAutoscaler", objects.hpas.len()),
        ("PodDisruptionBudget", objects.pdbs.len()),
        ("Job", objects.jobs.len()),
        ("ConfigMap", objects.config_maps.len()),
    ] {
        assert_eq!(n, 1, "{source}: one {kind}");
    }
    let deployment = &objects.deployments[0];
    let spec = deployment.spec.as_ref().unwrap();
    let rolling = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
        .unwrap();
    assert_eq!(
        rolling.max_unavailable,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(0)),
        "{source}: zero-downtime rollout"
    );
    let pod = spec.template.spec.as_ref().unwrap();
    assert_eq!(
        pod.security_context.as_ref().unwrap().run_as_non_root,
        Some(true),
        "{source}"
    );
    let container = &pod.containers[0];
    let probe_path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        p.as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.clone())
    };
    assert_eq!(
        probe_path(&container.liveness_probe).as_deref(),
        Some("/healthz")
    );
    assert_eq!(
        probe_path(&container.readiness_probe).as_deref(),
        Some("/readyz")
    );
    let security = container.security_context.as_ref().unwrap();
    assert_eq!(security.read_only_root_filesystem, Some(true), "{source}");
    assert_eq!(security.allow_privilege_escalation, Some(false), "{source}");
    let resources = container.resources.as_ref().unwrap();
    for key in ["cpu", "memory"] {
        assert!(
            resources.requests.as_ref().unwrap().contains_key(key),
            "{source}"
        );
        assert!(
            resources.limits.as_ref().unwrap().contains_key(key),
            "{source}"
        );
    }
    // DATABASE_URL only ever comes from a Secret reference.
    let database_url = container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "DATABASE_URL")
        .expect("DATABASE_URL");
    assert!(
        database_url.value.is_none(),
        "{source}: a literal DATABASE_URL"
    );
    assert!(
        database_url
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .is_some(),
        "{source}"
    );
    let job = &objects.jobs[0];
    let job_container = &job
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0];
    assert_eq!(
        job_container.args.as_deref(),
        Some(&["migrate".to_owned()][..])
    );
    assert_eq!(job_container.image, container.image, "{source}: same image");

    let hpa = objects.hpas[0].spec.as_ref().unwrap();
    let host = objects.ingresses[0]
        .spec
        .as_ref()
        .unwrap()
        .rules
        .as_ref()
        .unwrap()[0]
        .host
        .clone()
        .unwrap();
    (hpa.min_replicas.unwrap_or(1), hpa.max_replicas, host)
}

#[test]
fn kustomize_overlays_render_and_validate() {
    let root = support::workspace_root();
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        support::require_env(
            "KUBECTL_MISSING_ON_PURPOSE",
            "kubectl (`kubectl kustomize`)",
        );
        return;
    }
    let mut bounds = Vec::new();
    for env in ENVIRONMENTS {
        let dir = root.join("infra/k8s/overlays").join(env);
        let out = Command::new("kubectl")
            .arg("kustomize")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubectl kustomize {env}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let yaml = String::from_utf8(out.stdout).unwrap();
        let source = format!("overlays/{env}");
        let objects = validate(&yaml, &source);
        let deployment = &objects.deployments[0];
        assert_eq!(
            deployment.metadata.namespace.as_deref(),
            Some(format!("notes-{env}").as_str())
        );
        bounds.push((
            check_invariants(&objects, &source),
            deployment.spec.as_ref().unwrap().replicas,
        ));
    }
    let [dev, staging, production] = [&bounds[0], &bounds[1], &bounds[2]];
    assert_eq!(dev.0.2, "notes.dev.example.com");
    assert_eq!(staging.0.2, "notes.staging.example.com");
    assert_eq!(production.0.2, "notes.example.com");
    assert!(production.0.0 > dev.0.0 && production.0.1 > staging.0.1);
    assert_eq!(production.1, Some(3));
}

#[test]
fn helm_chart_lints_renders_and_validates_per_environment() {
    let Some(python) = support::require_env("HELM_PYTHON", "a Python with helm-python-sdk") else {
        return;
    };
    let root = support::workspace_root();
    let chart = root.join("infra/helm/notes-api");
    let mut files = vec!["values.yaml".to_owned()];
    files.extend(ENVIRONMENTS.map(|e| format!("values-{e}.yaml")));
    let mut hosts = Vec::new();
    for file in &files {
        let out = Command::new(&python)
            .arg(root.join("infra/helm/render.py"))
            .arg(&chart)
            .arg(chart.join(file))
            .arg("notes")
            .arg("notes-test")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helm lint/render with {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let yaml = String::from_utf8(out.stdout).unwrap();
        let objects = validate(&yaml, &format!("helm {file}"));
        let (_, _, host) = check_invariants(&objects, &format!("helm {file}"));
        hosts.push(host);
    }
    assert_eq!(
        hosts,
        [
            "notes.example.com",
            "notes.dev.example.com",
            "notes.staging.example.com",
            "notes.example.com"
        ]
    );
    assert!(Path::new(&chart.join("Chart.yaml")).is_file());
}

#[test]
fn unknown_fields_are_caught() {
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  selector: {a: b}\n  prots: []\n";
    let result = std::panic::catch_unwind(|| validate(yaml, "typo"));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("prots"), "{message}");
}
