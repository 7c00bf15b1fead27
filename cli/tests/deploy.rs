//! The deployment recipes (Dockerfile, deploy/k8s/*.yaml) against the code they run: the
//! manifests parse (PyYAML in the project venv), and every `icd` flag they pass exists.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The YAML documents of a file, as JSON.
fn yaml_docs(path: &Path) -> Vec<Value> {
    let python = root().join(".venv/bin/python");
    let o = Command::new(&python)
        .args(["-c", "import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup.sh (it installs PyYAML into the venv)", python.display()));
    assert!(o.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Every `--flag` of `args` appears in `icd <subcommand> --help`.
fn flags_exist(args: &[Value]) {
    let sub = args[0].as_str().unwrap();
    let help = Command::new(env!("CARGO_BIN_EXE_icd")).args([sub, "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for a in args.iter().filter_map(Value::as_str).filter(|a| a.starts_with("--")) {
        assert!(help.contains(&format!("{a} ")) || help.contains(&format!("{a}\n")) || help.contains(&format!("{a} <")), "icd {sub} has no {a}:\n{help}");
    }
}

fn container(doc: &Value) -> &Value {
    &doc["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn the_kubernetes_manifests_parse_and_call_real_flags() {
    let serve = yaml_docs(&root().join("deploy/k8s/serve.yaml"));
    let kinds: Vec<&str> = serve.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["Deployment", "Service", "NetworkPolicy"]);
    let c = container(&serve[0]);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
    let args = c["args"].as_array().unwrap();
    assert_eq!(args[0], "serve");
    assert!(args.iter().any(|a| a == "--token-file"), "beyond loopback, a token: {args:?}");
    flags_exist(args);

    let job = &yaml_docs(&root().join("deploy/k8s/code-job.yaml"))[0];
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let n = job["spec"]["completions"].as_u64().unwrap();
    let args = container(job)["args"].as_array().unwrap();
    let shard = args.iter().position(|a| a == "--shard").map(|i| args[i + 1].as_str().unwrap()).expect("--shard");
    assert_eq!(shard, format!("$(JOB_COMPLETION_INDEX)/{n}"), "the shard count is the completions");
    flags_exist(args);
}

#[test]
fn the_dockerfile_builds_the_cli_and_ships_the_bundle() {
    let d = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(d.contains("-p icd-cli"), "{d}");
    let bundle = d.lines().find_map(|l| l.strip_prefix("COPY bundles/")).and_then(|l| l.split_whitespace().next()).expect("COPY bundles/...");
    assert!(root().join("bundles").join(bundle).join("manifest.json").exists(), "bundles/{bundle}");
    assert!(d.contains("USER 65534"), "not root");
}
