//! Test support: fixture workspaces written to temp dirs, and the real
//! `cargo-shipper` binary run against them with a private `CARGO_HOME`.
#![allow(dead_code)] // each test binary uses a different part

pub mod child;
pub mod cmd;
pub mod lanes;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where fixtures, their builds and test registries live: a memory file
/// system when there is a roomy one (`/dev/shm` with 4 GiB free: files
/// created and deleted by the thousand, no disk under them), else the
/// temporary directory; `SHIPPER_TEST_TMPDIR` chooses. The runs a test
/// starts get it as `TMPDIR`.
pub fn scratch() -> &'static Path {
    static SCRATCH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SCRATCH.get_or_init(|| {
        if let Some(dir) = std::env::var_os("SHIPPER_TEST_TMPDIR") {
            return PathBuf::from(dir);
        }
        let shm = Path::new("/dev/shm");
        match free_bytes(shm) >= 4 << 30 {
            true => {
                let dir = shm.join("cargo-shipper-tests");
                match std::fs::create_dir_all(&dir) {
                    Ok(()) => dir,
                    Err(_) => std::env::temp_dir(),
                }
            }
            false => std::env::temp_dir(),
        }
    })
}

/// Free bytes of the file system at `path` (0 when it cannot be asked).
fn free_bytes(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return 0;
    };
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a statvfs to fill.
    match unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } {
        0 => stat.f_bavail as u64 * stat.f_frsize as u64,
        _ => 0,
    }
}

/// A workspace on disk, with its own `CARGO_HOME`.
pub struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("shipper-fixture-")
            .tempdir_in(scratch())
            .expect("temp dir");
        std::fs::create_dir_all(dir.path().join("cargo-home")).unwrap();
        std::fs::create_dir_all(dir.path().join("ws")).unwrap();
        Fixture { dir }
    }

    /// The workspace root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    pub fn cargo_home(&self) -> PathBuf {
        self.dir.path().join("cargo-home")
    }

    /// Write a file under the workspace root.
    pub fn file(&self, rel: &str, contents: &str) -> &Self {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    /// A package at `dir` with `[package]` basics, the given extra manifest
    /// text (dependency tables, `publish`, …) and an empty `src/lib.rs`.
    pub fn package(&self, dir: &str, name: &str, version: &str, extra: &str) -> &Self {
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\
             license = \"MIT\"\ndescription = \"fixture\"\n{extra}\n"
        );
        self.file(&format!("{dir}/Cargo.toml"), &manifest);
        self.file(&format!("{dir}/src/lib.rs"), "")
    }

    /// Append cargo configuration to `$CARGO_HOME/config.toml`.
    pub fn cargo_config(&self, text: &str) -> &Self {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.cargo_home().join("config.toml"))
            .unwrap();
        writeln!(f, "{text}").unwrap();
        self
    }

    /// `cargo-shipper shipper <args>` in the workspace root.
    pub fn shipper(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-shipper"))
            .arg("shipper")
            .args(args)
            .current_dir(self.root())
            .env("CARGO_HOME", self.cargo_home())
            .env_remove("CARGO_REGISTRY_TOKEN")
            .env("NO_COLOR", "1")
            .output()
            .expect("run cargo-shipper");
        Run(output)
    }
}

/// The outcome of one run of the binary.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().expect("exited")
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Assert success and return stdout.
    pub fn ok(&self) -> String {
        assert_eq!(
            self.code(),
            0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self.stdout()
    }

    /// Assert success and parse stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok()).expect("JSON on stdout")
    }
}

/// `(name, level)` of every crate in a plan JSON document, in order.
pub fn order(plan: &serde_json::Value) -> Vec<(String, u64)> {
    plan["crates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["level"].as_u64().unwrap(),
            )
        })
        .collect()
}

pub fn path_str(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// An embedded registry in a temp dir, stopped on drop.
pub struct TestRegistry {
    pub registry: cargo_shipper::local_registry::LocalRegistry,
    _dir: tempfile::TempDir,
}

impl TestRegistry {
    pub fn start() -> Self {
        Self::start_with_knobs(|_| {})
    }

    /// With test knobs set (latency, faults, …).
    pub fn start_with_knobs(f: impl FnOnce(&mut cargo_shipper::local_registry::Knobs)) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("shipper-registry-")
            .tempdir_in(scratch())
            .unwrap();
        let mut config = cargo_shipper::local_registry::RegistryConfig::new(dir.path());
        f(&mut config.knobs);
        let registry = start_registry(config);
        TestRegistry {
            registry,
            _dir: dir,
        }
    }

    pub fn index_url(&self) -> String {
        self.registry.index_url()
    }

    /// The registry's storage directory.
    pub fn root(&self) -> &Path {
        self._dir.path()
    }
}

impl Fixture {
    /// Name the registry `local` in this fixture's cargo config, and make it
    /// stand in for crates.io (path dependencies implicitly mean crates.io).
    pub fn use_registry(&self, registry: &TestRegistry) -> &Self {
        self.cargo_config(&format!(
            "{}\n[source.crates-io]\nreplace-with = \"local\"\n",
            registry.registry.cargo_config("local")
        ))
    }

    /// Real `cargo publish --workspace --registry local --no-verify`.
    pub fn cargo_publish_workspace(&self, registry: &TestRegistry) -> Run {
        self.cargo(
            registry,
            &[
                "publish",
                "--workspace",
                "--registry",
                "local",
                "--allow-dirty",
                "--no-verify",
            ],
        )
    }

    /// The real `cargo` CLI in the workspace root, with this fixture's
    /// `CARGO_HOME` and the registry token in the environment.
    pub fn cargo(&self, registry: &TestRegistry, args: &[&str]) -> Run {
        lanes::share();
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(args)
            .current_dir(self.root())
            .env("CARGO_HOME", self.cargo_home())
            .env("CARGO_REGISTRIES_LOCAL_TOKEN", registry.registry.token())
            .env("RUSTC", toolchain_rustc())
            .env("TMPDIR", scratch())
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .output()
            .expect("run cargo");
        Run(output)
    }
}

/// The toolchain's own `rustc`, not rustup's proxy on `PATH`: every build
/// a test starts (verification, consumer builds, real `cargo`) runs it
/// directly, saving the proxy's start on each of hundreds of calls.
pub fn toolchain_rustc() -> &'static Path {
    static RUSTC: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    RUSTC.get_or_init(|| {
        let out = Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .expect("run rustc");
        let sysroot = String::from_utf8(out.stdout).expect("a UTF-8 sysroot");
        let rustc = Path::new(sysroot.trim()).join("bin/rustc");
        match rustc.is_file() {
            true => rustc,
            false => PathBuf::from("rustc"),
        }
    })
}

/// A raw HTTP exchange (curl), for tests that look at the wire.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u32,
    pub headers: Vec<String>,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

pub fn http(
    method: &str,
    url: &str,
    headers: &[&str],
    body: &[u8],
) -> Result<HttpReply, curl::Error> {
    let mut easy = curl::easy::Easy::new();
    easy.url(url)?;
    easy.custom_request(method)?;
    let mut list = curl::easy::List::new();
    for h in headers {
        list.append(h)?;
    }
    easy.http_headers(list)?;
    if !body.is_empty() {
        easy.post_fields_copy(body)?;
        easy.custom_request(method)?;
    }
    let mut out = Vec::new();
    let mut head = Vec::new();
    {
        let mut t = easy.transfer();
        t.write_function(|d| {
            out.extend_from_slice(d);
            Ok(d.len())
        })?;
        t.header_function(|h| {
            head.push(String::from_utf8_lossy(h).trim().to_owned());
            true
        })?;
        t.perform()?;
    }
    Ok(HttpReply {
        status: easy.response_code()?,
        headers: head,
        body: out,
    })
}

/// A `.crate` as cargo packages one: a gzip'd tar with
/// `name-version/Cargo.toml` (and `src/lib.rs`).
pub fn crate_file(name: &str, version: &str) -> Vec<u8> {
    let manifest = format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\n");
    gz_tar(&[
        (&format!("{name}-{version}/Cargo.toml"), manifest.as_bytes()),
        (&format!("{name}-{version}/src/lib.rs"), b""),
    ])
}

/// A gzip'd tar of `(path, contents)`, paths written as given.
pub fn gz_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        // Set the raw name: `append_data` refuses `..`, which hostile tests need.
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// The body of `PUT /api/v1/crates/new` for a minimal crate.
pub fn upload_body(name: &str, version: &str, deps: &[&str], tarball: &[u8]) -> Vec<u8> {
    let deps: Vec<_> = deps
        .iter()
        .map(|d| {
            serde_json::json!({"optional": false, "default_features": true, "name": d,
                "features": [], "version_req": "^0.1", "target": null, "kind": "normal"})
        })
        .collect();
    let meta = serde_json::json!({
        "name": name, "vers": version, "deps": deps, "features": {}, "authors": [],
        "description": "test", "documentation": null, "homepage": null, "readme": null,
        "readme_file": null, "keywords": [], "categories": [], "license": "MIT",
        "license_file": null, "repository": null, "badges": {}, "links": null,
        "rust_version": null
    })
    .to_string();
    let mut body = Vec::new();
    body.extend((meta.len() as u32).to_le_bytes());
    body.extend(meta.as_bytes());
    body.extend((tarball.len() as u32).to_le_bytes());
    body.extend(tarball);
    body
}

impl TestRegistry {
    pub fn api(&self) -> String {
        format!("http://{}", self.registry.addr())
    }

    pub fn index_http(&self) -> String {
        format!("http://{}/index/", self.registry.addr())
    }

    /// Upload through the API with the registry's token.
    pub fn upload(&self, name: &str, version: &str, deps: &[&str]) -> HttpReply {
        let auth = format!("Authorization: {}", self.registry.token());
        http(
            "PUT",
            &format!("{}/api/v1/crates/new", self.api()),
            &[&auth],
            &upload_body(name, version, deps, &crate_file(name, version)),
        )
        .expect("http")
    }

    /// GET an index file for `name`.
    pub fn index_entry(&self, name: &str) -> HttpReply {
        let url = cargo_shipper::registry::SparseIndexReader::new(
            &cargo_shipper::registry::Http::plain(),
            &self.index_url(),
        )
        .crate_url(name)
        .unwrap();
        http("GET", &url, &[], &[]).expect("http")
    }

    pub fn start_with(
        root: &Path,
        f: impl FnOnce(&mut cargo_shipper::local_registry::RegistryConfig),
    ) -> cargo_shipper::local_registry::LocalRegistry {
        let mut config = cargo_shipper::local_registry::RegistryConfig::new(root);
        f(&mut config);
        start_registry(config)
    }
}

/// Copy a directory tree, skipping `target/`, `Cargo.lock` and `.shipper/`
/// (the README's rehearsal of the demo leaves one in the checkout).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" || name == ".shipper" {
            continue;
        }
        let dest = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// The demo workspace of this repository, copied into a fixture.
pub fn demo_workspace() -> Fixture {
    let fx = Fixture::new();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-workspace"),
        &fx.root(),
    );
    fx
}

impl Fixture {
    /// `cargo-shipper shipper <args>` with the registry's token in the
    /// environment the way cargo reads it, and extra environment variables
    /// (no pacing flags added; see [`cmd::ShipperCmd`] for those).
    pub fn shipper_env(&self, registry: &TestRegistry, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.cmd(args)
            .no_fast()
            .token(registry)
            .envs(env.iter().copied())
            .run()
    }

    /// `publish --registry local` with fast retry and polling for tests.
    pub fn publish(&self, registry: &TestRegistry, extra: &[&str]) -> Run {
        self.publish_cmd(registry).args(extra).run()
    }

    /// Every file under the state dir, concatenated (for secret scans).
    pub fn state_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        collect(&self.root().join(".shipper"), &mut all);
        all
    }
}

fn collect(dir: &Path, into: &mut Vec<u8>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, into);
        } else if let Ok(bytes) = std::fs::read(&path) {
            into.extend(bytes);
        }
    }
}

/// Assert the registry token appears nowhere in the outputs or the state dir.
pub fn assert_no_token(fx: &Fixture, registry: &TestRegistry, runs: &[&Run]) {
    let token = registry.registry.token().as_bytes();
    let contains = |hay: &[u8]| hay.windows(token.len()).any(|w| w == token);
    for run in runs {
        assert!(!contains(&run.0.stdout), "token on stdout");
        assert!(!contains(&run.0.stderr), "token on stderr");
    }
    assert!(!contains(&fx.state_bytes()), "token under .shipper/");
}

impl TestRegistry {
    /// A registry with knobs (faults, delays).
    pub fn start_knobs(f: impl FnOnce(&mut cargo_shipper::local_registry::Knobs)) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("shipper-registry-")
            .tempdir_in(scratch())
            .unwrap();
        let registry = TestRegistry::start_with(dir.path(), |c| f(&mut c.knobs));
        TestRegistry {
            registry,
            _dir: dir,
        }
    }

    /// How many index lines (versions) the registry holds for `name`.
    pub fn version_count(&self, name: &str) -> usize {
        let reply = self.index_entry(name);
        if reply.status != 200 {
            return 0;
        }
        reply.text().lines().count()
    }
}

/// A chain workspace: `a` <- `b` <- `c` (each depends on the previous).
pub fn chain(names: &[&str]) -> Fixture {
    let fx = Fixture::new();
    let members: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    fx.file(
        "Cargo.toml",
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    );
    for (i, name) in names.iter().enumerate() {
        let deps = if i == 0 {
            String::new()
        } else {
            let prev = names[i - 1];
            format!("[dependencies]\n{prev} = {{ path = \"../{prev}\", version = \"0.1.0\" }}")
        };
        fx.package(name, name, "0.1.0", &deps);
    }
    fx
}

/// The journal records of a state dir (live or archived), parsed.
pub fn events_in(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The archived run directory (exactly one expected).
pub fn archived(fx: &Fixture) -> PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(fx.root().join(".shipper/archive"))
        .expect("an archive")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// Events of `kind` about crate `name`.
pub fn count(events: &[serde_json::Value], kind: &str, name: &str) -> usize {
    events
        .iter()
        .filter(|e| e["kind"] == kind && e["name"] == name)
        .count()
}

/// The archived directory of the run that published.
pub fn archived_published(fx: &Fixture) -> PathBuf {
    std::fs::read_dir(fx.root().join(".shipper/archive"))
        .expect("an archive")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-published"))
        .expect("a published run")
}

/// A workspace whose top crate has renamed, optional, target-specific,
/// build and dev dependencies, `dep:`/`?/` features, `links` and `rust-version`.
pub fn rich_workspace() -> Fixture {
    let fx = Fixture::new();
    fx.file("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\", \"lib\"]\n")
        .package("a", "diff-a", "0.1.0", "[features]\nx = []")
        .package("b", "diff-b", "0.1.3", "")
        .package(
            "lib",
            "diff-lib",
            "1.0.0",
            r#"rust-version = "1.70"
links = "difflib"
build = "build.rs"

[dependencies]
renamed = { package = "diff-a", path = "../a", version = "0.1", optional = true, default-features = false, features = ["x"] }

[target.'cfg(unix)'.dependencies]
diff-b = { path = "../b", version = "0.1.3" }

[build-dependencies]
diff-a = { path = "../a", version = "=0.1.0" }

[dev-dependencies]
diff-b = { path = "../b", version = "0.1" }

[features]
default = ["plain"]
plain = []
uses-dep = ["dep:renamed"]
weak = ["renamed?/x"]
"#,
        )
        .file("lib/build.rs", "fn main() {}\n")
        .file("lib/README.md", "# diff-lib\n");
    fx
}

/// The publishable crates of `examples/demo-workspace`, in plan order.
pub const DEMO_CRATES: [&str; 6] = [
    "shipper-demo-core",
    "shipper-demo-left",
    "shipper-demo-right",
    "shipper-demo-testkit",
    "shipper-demo-app",
    "shipper-demo-cli",
];

/// Start a test registry. Unless the test chose an address, it listens on
/// a random free port below the kernel's ephemeral range (32768 and up on
/// Linux): tests run 8 at a time, and a port from that range, freed by
/// [`TestRegistry::restart`] for an instant, could be taken as the local
/// port of any test's client connection. A port some other test holds is
/// skipped.
pub fn start_registry(
    config: cargo_shipper::local_registry::RegistryConfig,
) -> cargo_shipper::local_registry::LocalRegistry {
    use std::hash::{BuildHasher, Hasher};
    if config.addr.port() != 0 {
        return cargo_shipper::local_registry::LocalRegistry::start(config).unwrap();
    }
    let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
    seed.write_u32(std::process::id());
    let mut rng = fastrand::Rng::with_seed(seed.finish());
    loop {
        let mut on_port = config.clone();
        on_port.addr = std::net::SocketAddr::from(([127, 0, 0, 1], rng.u16(20_000..32_000)));
        match cargo_shipper::local_registry::LocalRegistry::start(on_port) {
            Ok(registry) => return registry,
            Err(e) if addr_in_use(&e) => continue,
            Err(e) => panic!("{e:?}"),
        }
    }
}

fn addr_in_use(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::AddrInUse)
    })
}

impl TestRegistry {
    /// Stop this registry and start it again on the same directory, address
    /// and token (so plan ids stay the same), with new settings.
    pub fn restart(
        self,
        f: impl FnOnce(&mut cargo_shipper::local_registry::RegistryConfig),
    ) -> TestRegistry {
        let TestRegistry { registry, _dir } = self;
        let addr = registry.addr();
        let token = registry.token().to_owned();
        drop(registry);
        let mut config = cargo_shipper::local_registry::RegistryConfig::new(_dir.path());
        config.addr = addr;
        config.token = Some(token);
        f(&mut config);
        // Its port is below the ephemeral range: only an instant's wait, if any.
        for _ in 0..100 {
            match cargo_shipper::local_registry::LocalRegistry::start(config.clone()) {
                Ok(registry) => return TestRegistry { registry, _dir },
                Err(e) if addr_in_use(&e) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                Err(e) => panic!("{e:?}"),
            }
        }
        panic!("{addr} stayed in use after the registry on it stopped")
    }
}

impl TestRegistry {
    /// Adopt a registry started by hand on `dir`.
    pub fn wrap(
        registry: cargo_shipper::local_registry::LocalRegistry,
        dir: tempfile::TempDir,
    ) -> Self {
        TestRegistry {
            registry,
            _dir: dir,
        }
    }
}

/// GitHub-shaped claims of a release job in `repository` running `workflow`.
pub fn github_claims(
    repository: &str,
    workflow: &str,
    environment: Option<&str>,
) -> serde_json::Value {
    let mut claims = serde_json::json!({
        "repository": repository,
        "repository_owner": repository.split('/').next().unwrap(),
        "job_workflow_ref": format!("{repository}/.github/workflows/{workflow}@refs/heads/main"),
        "workflow_ref": format!("{repository}/.github/workflows/{workflow}@refs/heads/main"),
        "ref": "refs/heads/main",
        "sub": format!("repo:{repository}:ref:refs/heads/main"),
    });
    // GitHub: a job in an environment has `sub` name it instead of the ref.
    if let Some(env) = environment {
        claims["environment"] = env.into();
        claims["sub"] = format!("repo:{repository}:environment:{env}").into();
    }
    claims
}

/// An embedded registry playing crates.io's trusted publishing, and a test
/// OIDC provider whose JWTs it trusts.
pub struct TrustedSetup {
    pub registry: TestRegistry,
    pub provider: cargo_shipper::local_registry::TestOidcProvider,
}

impl TrustedSetup {
    /// `crates` are configured for `example/demo`'s `release.yml`; the
    /// provider's JWTs carry `claims`; minted tokens live `lifetime` and may
    /// publish a crate's first version (unlike crates.io's: see
    /// [`TrustedSetup::as_crates_io`]).
    pub fn start(
        crates: &[&str],
        claims: serde_json::Value,
        lifetime: std::time::Duration,
        knobs: impl FnOnce(&mut cargo_shipper::local_registry::Knobs),
    ) -> Self {
        Self::launch(crates, claims, lifetime, knobs, true)
    }

    /// As [`TrustedSetup::start`], with crates.io's rule: minted tokens
    /// cannot publish a crate's first version.
    pub fn as_crates_io(
        crates: &[&str],
        claims: serde_json::Value,
        lifetime: std::time::Duration,
    ) -> Self {
        Self::launch(crates, claims, lifetime, |_| {}, false)
    }

    fn launch(
        crates: &[&str],
        claims: serde_json::Value,
        lifetime: std::time::Duration,
        knobs: impl FnOnce(&mut cargo_shipper::local_registry::Knobs),
        new_crates: bool,
    ) -> Self {
        use cargo_shipper::local_registry::{
            TestIssuer, TestOidcProvider, TrustedConfig, TrustedPublishing,
        };
        let issuer = TestIssuer::new("https://token.actions.example").unwrap();
        let key = issuer.public_key();
        let dir = tempfile::Builder::new()
            .prefix("shipper-registry-")
            .tempdir_in(scratch())
            .unwrap();
        let registry = TestRegistry::start_with(dir.path(), |c| {
            knobs(&mut c.knobs);
            c.trusted_publishing = Some(TrustedPublishing {
                issuer: "https://token.actions.example".into(),
                audience: None,
                issuer_key: key,
                token_lifetime: lifetime,
                new_crates,
                configs: crates
                    .iter()
                    .map(|k| TrustedConfig {
                        krate: (*k).to_owned(),
                        repository: "example/demo".into(),
                        workflow: "release.yml".into(),
                        environment: None,
                    })
                    .collect(),
            });
        });
        let provider = TestOidcProvider::start(issuer, claims).unwrap();
        TrustedSetup {
            registry: TestRegistry::wrap(registry, dir),
            provider,
        }
    }

    /// Every demo crate configured for `example/demo`'s `release.yml`, JWTs
    /// with those claims, tokens living `lifetime`.
    pub fn demo(lifetime: std::time::Duration) -> Self {
        Self::start(
            &DEMO_CRATES,
            github_claims("example/demo", "release.yml", None),
            lifetime,
            |_| {},
        )
    }

    /// Every demo crate but `missing` configured; JWTs from the `release`
    /// environment; tokens living a minute.
    pub fn demo_except(missing: &str) -> Self {
        let configured: Vec<&str> = DEMO_CRATES
            .iter()
            .copied()
            .filter(|c| *c != missing)
            .collect();
        Self::start(
            &configured,
            github_claims("example/demo", "release.yml", Some("release")),
            std::time::Duration::from_secs(60),
            |_| {},
        )
    }

    /// The audience the registry expects: its API host (as crates.io's
    /// action derives it from the URL).
    pub fn audience(&self) -> String {
        self.registry.registry.addr().to_string()
    }

    /// Exchange a fresh JWT for a token (the raw exchange).
    pub fn exchange(&self) -> HttpReply {
        let jwt = self.provider.jwt_for(&self.audience()).unwrap();
        self.exchange_jwt(&jwt)
    }

    pub fn exchange_jwt(&self, jwt: &str) -> HttpReply {
        http(
            "POST",
            &format!("{}/api/v1/trusted_publishing/tokens", self.registry.api()),
            &["Content-Type: application/json"],
            serde_json::json!({ "jwt": jwt }).to_string().as_bytes(),
        )
        .expect("http")
    }

    /// Every secret of the setup: the registry's own token, minted tokens,
    /// JWTs handed out and the provider's request token.
    pub fn secrets(&self) -> Vec<String> {
        let mut all = vec![
            self.registry.registry.token().to_owned(),
            self.provider.request_token().to_owned(),
        ];
        all.extend(self.registry.registry.minted_tokens());
        all.extend(self.provider.issued());
        all
    }
}

/// No secret of `setup` in the runs' outputs or under the state directory.
pub fn assert_no_secret(fx: &Fixture, setup: &TrustedSetup, runs: &[&Run]) {
    let state = fx.state_bytes();
    let secrets = setup.secrets();
    assert!(secrets.len() >= 2);
    for secret in &secrets {
        let s = secret.as_bytes();
        let contains = |hay: &[u8]| hay.windows(s.len()).any(|w| w == s);
        for run in runs {
            assert!(!contains(&run.0.stdout), "a secret on stdout");
            assert!(!contains(&run.0.stderr), "a secret on stderr");
        }
        assert!(!contains(&state), "a secret under .shipper/");
    }
}

impl Fixture {
    /// `publish --registry local` in a GitHub Actions job that may mint
    /// ID tokens from `setup`'s provider, with no registry token configured.
    pub fn publish_trusted(
        &self,
        setup: &TrustedSetup,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Run {
        let head = [
            "publish",
            "--registry",
            "local",
            "--allow-dirty",
            "--no-verify",
        ];
        self.cmd(head)
            .trusted(setup)
            .args(extra)
            .envs(env.iter().copied())
            .run()
    }

    /// `cargo shipper ARGS` in a GitHub Actions job that may mint ID tokens
    /// from `setup`'s provider, with no registry token configured; no secret
    /// of the setup may show in its output or under `.shipper/`.
    pub fn shipper_trusted(
        &self,
        setup: &TrustedSetup,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Run {
        self.cmd(args)
            .no_fast()
            .trusted(setup)
            .envs(env.iter().copied())
            .run()
    }
}

/// No network: every proxy points at a closed port (loopback is exempt,
/// so the embedded registries still answer).
pub const OFFLINE: [(&str, &str); 8] = [
    ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ("https_proxy", "http://127.0.0.1:9"),
    ("HTTP_PROXY", "http://127.0.0.1:9"),
    ("http_proxy", "http://127.0.0.1:9"),
    ("ALL_PROXY", "http://127.0.0.1:9"),
    ("all_proxy", "http://127.0.0.1:9"),
    ("NO_PROXY", "127.0.0.1,localhost"),
    ("no_proxy", "127.0.0.1,localhost"),
];

impl Fixture {
    /// `rehearse --allow-dirty` with fast retry and polling, offline (no
    /// live target to ask unless the fixture names one on loopback).
    pub fn rehearse(&self, extra: &[&str]) -> Run {
        self.rehearse_cmd().args(extra).run()
    }
}

/// What a `.crate` holds: path inside the archive (with its
/// `name-version/` prefix) -> bytes, after gunzip. For comparing two
/// packagings by content, not by their compressed stream.
pub fn crate_contents(crate_file: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read as _;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(crate_file));
    let mut files = std::collections::BTreeMap::new();
    for entry in archive.entries().expect("a tar inside the gzip") {
        let mut entry = entry.expect("a tar entry");
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        assert!(
            files.insert(path.clone(), bytes).is_none(),
            "`{path}` twice in one .crate"
        );
    }
    files
}

/// The two `.crate` files hold the same paths with the same bytes, but for
/// `expected` (paths inside the crate) that must differ.
pub fn assert_same_contents(name: &str, ours: &[u8], theirs: &[u8], expected: &[&str]) {
    let (ours, theirs) = (crate_contents(ours), crate_contents(theirs));
    let paths: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    let differing: Vec<&str> = paths
        .into_iter()
        .filter(|p| ours.get(*p) != theirs.get(*p))
        .map(|p| p.split_once('/').map_or(p.as_str(), |(_, rest)| rest))
        .collect();
    let describe = || {
        differing
            .iter()
            .map(|p| {
                let show = |m: &std::collections::BTreeMap<String, Vec<u8>>| {
                    m.iter()
                        .find(|(k, _)| k.ends_with(&format!("/{p}")))
                        .map_or("(absent)".to_owned(), |(_, v)| {
                            String::from_utf8_lossy(v).into_owned()
                        })
                };
                format!(
                    "--- {p}, ours:\n{}\n--- cargo's:\n{}",
                    show(&ours),
                    show(&theirs)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(differing, expected, "{name}:\n{}", describe());
}
