//! The trusted-publishing file of `registry serve --trusted-publishing FILE`
//! (TOML, format 1, documented in `docs/reference/registry.md`): per-crate
//! configurations, the minted tokens' lifetime, and the issuer whose JWTs
//! are trusted: an external one (`issuer` URL and its Ed25519 public key in
//! hex), or a test OIDC provider the registry starts beside itself
//! (`[provider]`, the claims its JWTs carry). A hand-written trust
//! configuration, not one of our versioned on-disk formats, so it is read
//! strictly: an unknown key (a typo like `enviroment` would silently widen
//! trust) is refused; every problem names the file and the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::oidc::{TestIssuer, TestOidcProvider};
use super::storage::{reserved_name, valid_name};
use super::trusted::{TrustedConfig, TrustedPublishing};
use crate::model::{Exit, HasExit};

/// The newest format this reader knows.
const FORMAT: u32 = 1;
/// crates.io's lifetime of a minted token.
const DEFAULT_LIFETIME_SECS: u64 = 1800;
/// The longest `token-lifetime` accepted: a week.
const MAX_LIFETIME_SECS: u64 = 7 * 24 * 60 * 60;
/// The `iss` of the built-in provider's JWTs.
pub const LOCAL_ISSUER: &str = "https://oidc.shipper-local.invalid";

/// The file cannot be used; nothing was started or written.
#[derive(Debug, thiserror::Error)]
#[error(
    "the trusted-publishing file `{}` cannot be used: {problem}\n\
     (its keys are described in docs/reference/registry.md, \"Trusted publishing\")",
    path.display()
)]
pub struct TrustedFileError {
    pub path: PathBuf,
    pub problem: String,
}

impl HasExit for TrustedFileError {
    fn exit(&self) -> Exit {
        Exit::BadInputFile
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileDoc {
    format: Option<u32>,
    token_lifetime: Option<u64>,
    allow_new_crates: Option<bool>,
    issuer: Option<String>,
    issuer_key: Option<String>,
    audience: Option<String>,
    provider: Option<ClaimsDoc>,
    #[serde(rename = "crate")]
    crates: Option<Vec<CrateDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrateDoc {
    name: Option<String>,
    repository: Option<String>,
    workflow: Option<String>,
    environment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsDoc {
    repository: Option<String>,
    workflow: Option<String>,
    environment: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

/// What the built-in provider's JWTs claim (GitHub Actions' names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderClaims {
    /// `owner/name`.
    pub repository: String,
    /// The workflow file's name, e.g. `release.yml`.
    pub workflow: String,
    pub environment: Option<String>,
    /// e.g. `refs/heads/main` (the default).
    pub git_ref: String,
}

impl ProviderClaims {
    /// The claims as GitHub Actions puts them in an ID token.
    pub fn to_json(&self) -> serde_json::Value {
        let workflow_ref = format!(
            "{}/.github/workflows/{}@{}",
            self.repository, self.workflow, self.git_ref
        );
        let mut claims = serde_json::json!({
            "repository": self.repository,
            "repository_owner": self.repository.split('/').next().unwrap_or_default(),
            "job_workflow_ref": workflow_ref,
            "workflow_ref": workflow_ref,
            "ref": self.git_ref,
            "sub": format!("repo:{}:ref:{}", self.repository, self.git_ref),
        });
        // GitHub: a job in an environment has `sub` name it instead of the ref.
        if let Some(environment) = &self.environment {
            claims["environment"] = environment.clone().into();
            claims["sub"] = format!("repo:{}:environment:{environment}", self.repository).into();
        }
        claims
    }
}

/// Whose JWTs the registry trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerSpec {
    /// JWTs from elsewhere, verified with this Ed25519 public key.
    External { url: String, key: [u8; 32] },
    /// A test provider started beside the registry, signing these claims.
    BuiltIn(ProviderClaims),
}

/// A read trusted-publishing file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedFile {
    pub configs: Vec<TrustedConfig>,
    pub token_lifetime: Duration,
    /// `allow-new-crates`: minted tokens may publish a crate's first
    /// version (crates.io's trusted publishing cannot).
    pub new_crates: bool,
    /// `None`: the registry's `host:port`, as a client derives it.
    pub audience: Option<String>,
    pub issuer: IssuerSpec,
}

impl TrustedFile {
    /// Read and check `path`.
    pub fn load(path: &Path) -> Result<TrustedFile, TrustedFileError> {
        let problem = |problem: String| TrustedFileError {
            path: path.to_owned(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| problem(format!("{e}")))?;
        Self::parse(&text).map_err(problem)
    }

    fn parse(text: &str) -> Result<TrustedFile, String> {
        let doc: FileDoc = toml_edit::de::from_str(text)
            .map_err(|e| format!("it is not TOML of the expected shape: {e}"))?;
        match doc.format {
            None | Some(FORMAT) => {}
            Some(format) if format > FORMAT => {
                return Err(format!(
                    "`format = {format}` is newer than this cargo-shipper reads ({FORMAT}); upgrade cargo-shipper"
                ));
            }
            Some(format) => {
                return Err(format!(
                    "`format = {format}` is not a format: give `format = {FORMAT}` or leave it out"
                ));
            }
        }
        let crates = doc.crates.unwrap_or_default();
        if crates.is_empty() {
            return Err(
                "it configures no crate: add a `[[crate]]` table (`name`, `repository`, \
                 `workflow`, optional `environment`) for each crate trusted publishing may publish"
                    .into(),
            );
        }
        let configs = crates
            .into_iter()
            .enumerate()
            .map(|(i, c)| crate_config(i, c))
            .collect::<Result<Vec<_>, _>>()?;
        let token_lifetime = match doc.token_lifetime {
            None => DEFAULT_LIFETIME_SECS,
            Some(secs @ 1..=MAX_LIFETIME_SECS) => secs,
            Some(secs) => {
                return Err(format!(
                    "`token-lifetime = {secs}` is out of range: give 1 to {MAX_LIFETIME_SECS} \
                     seconds (a week; crates.io's is {DEFAULT_LIFETIME_SECS})"
                ));
            }
        };
        let audience = match doc.audience {
            Some(a) if a.trim().is_empty() => {
                return Err(
                    "`audience` is empty: leave it out to expect the registry's \
                            `host:port`, or give the `aud` your ID tokens carry"
                        .into(),
                );
            }
            audience => audience.map(|a| a.trim().to_owned()),
        };
        let issuer = match (doc.issuer, doc.issuer_key, doc.provider) {
            (Some(url), Some(key), None) => IssuerSpec::External {
                key: issuer_key(&key)?,
                url: issuer_url(url)?,
            },
            (None, None, Some(provider)) => IssuerSpec::BuiltIn(provider_claims(provider)?),
            (issuer, key, provider) => return Err(issuer_form(issuer, key, provider)),
        };
        Ok(TrustedFile {
            configs,
            token_lifetime: Duration::from_secs(token_lifetime),
            new_crates: doc.allow_new_crates.unwrap_or(false),
            audience,
            issuer,
        })
    }

    /// The registry's configuration, and the test provider when the file
    /// asks for one (its key pair made now; stops when dropped).
    pub fn start(self) -> anyhow::Result<(TrustedPublishing, Option<TestOidcProvider>)> {
        let (issuer, issuer_key, provider) = match self.issuer {
            IssuerSpec::External { url, key } => (url, key, None),
            IssuerSpec::BuiltIn(claims) => {
                let issuer = TestIssuer::new(LOCAL_ISSUER)?;
                let key = issuer.public_key();
                let provider = TestOidcProvider::start(issuer, claims.to_json())?;
                (LOCAL_ISSUER.to_owned(), key, Some(provider))
            }
        };
        let config = TrustedPublishing {
            issuer,
            audience: self.audience,
            issuer_key,
            token_lifetime: self.token_lifetime,
            configs: self.configs,
            new_crates: self.new_crates,
        };
        Ok((config, provider))
    }
}

fn required(key: &str, value: Option<String>) -> Result<String, String> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("`{key}` is missing or empty"))
}

fn crate_config(i: usize, c: CrateDoc) -> Result<TrustedConfig, String> {
    let which = match &c.name {
        Some(name) => format!("`[[crate]]` `{name}`"),
        None => format!("`[[crate]]` number {}", i + 1),
    };
    let at = |e: String| format!("{which}: {e}");
    let krate = crate_name(c.name).map_err(at)?;
    let repository = repository("repository", c.repository).map_err(at)?;
    let workflow = workflow("workflow", c.workflow).map_err(at)?;
    Ok(TrustedConfig {
        krate,
        repository,
        workflow,
        environment: environment(c.environment).map_err(at)?,
    })
}

/// A name crates.io would accept for a crate (the rules uploads meet).
fn crate_name(value: Option<String>) -> Result<String, String> {
    let name = required("name", value)?;
    if !valid_name(&name) {
        return Err(format!(
            "`name = \"{name}\"` is not a crate name: use ASCII letters, digits, `-` and `_`, \
             starting with a letter, at most 64 characters"
        ));
    }
    if reserved_name(&name) {
        return Err(format!(
            "`name = \"{name}\"` is a reserved name crates.io does not accept"
        ));
    }
    Ok(name)
}

/// An optional environment; empty is refused rather than read as "any".
fn environment(value: Option<String>) -> Result<Option<String>, String> {
    match value.map(|e| e.trim().to_owned()) {
        Some(e) if e.is_empty() => Err("`environment` is empty: leave it out to accept any \
                                        environment, or name the one the job runs in"
            .into()),
        environment => Ok(environment),
    }
}

/// The JWTs' `iss`: an http(s) URL, as OIDC issuers are.
fn issuer_url(value: String) -> Result<String, String> {
    let url = required("issuer", Some(value))?;
    let lower = url.to_ascii_lowercase();
    let host = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(url),
        _ => Err(format!(
            "`issuer = \"{url}\"` is not an http(s) URL: give the `iss` of the ID tokens, \
             e.g. `https://token.actions.githubusercontent.com`"
        )),
    }
}

fn provider_claims(p: ClaimsDoc) -> Result<ProviderClaims, String> {
    let at = |e: String| format!("`[provider]`: {e}");
    Ok(ProviderClaims {
        repository: repository("repository", p.repository).map_err(at)?,
        workflow: workflow("workflow", p.workflow).map_err(at)?,
        environment: environment(p.environment).map_err(at)?,
        git_ref: p
            .git_ref
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "refs/heads/main".into()),
    })
}

/// `owner/name`, as crates.io's configuration has it.
fn repository(key: &str, value: Option<String>) -> Result<String, String> {
    let value = required(key, value)?;
    match value.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok(value)
        }
        _ => Err(format!(
            "`{key} = \"{value}\"` is not `owner/name` (e.g. `rust-lang/cargo`)"
        )),
    }
}

/// A workflow file's name under `.github/workflows/`, as crates.io wants it.
fn workflow(key: &str, value: Option<String>) -> Result<String, String> {
    let value = required(key, value)?;
    if value.contains('/') || !(value.ends_with(".yml") || value.ends_with(".yaml")) {
        return Err(format!(
            "`{key} = \"{value}\"` is not a workflow file name: give the name of the file under \
             `.github/workflows/`, ending in `.yml` or `.yaml` (e.g. `release.yml`)"
        ));
    }
    Ok(value)
}

/// The issuer's Ed25519 public key: the 32 bytes in hex (64 digits).
fn issuer_key(text: &str) -> Result<[u8; 32], String> {
    let bad = |why: &str| {
        format!(
            "`issuer-key` {why}: give the issuer's Ed25519 public key as 64 hex digits (its 32 bytes)"
        )
    };
    let bytes = hex::decode(text.trim()).map_err(|_| bad("is not hex"))?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| bad(&format!("is {} bytes long, not 32", b.len())))?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| bad("is not a valid Ed25519 public key"))?;
    Ok(key)
}

fn issuer_form(issuer: Option<String>, key: Option<String>, provider: Option<ClaimsDoc>) -> String {
    let what = match (issuer.is_some(), key.is_some(), provider.is_some()) {
        (_, _, true) => "it has both `[provider]` and `issuer`/`issuer-key`",
        (true, false, false) => "it has `issuer` without `issuer-key`",
        (false, true, false) => "it has `issuer-key` without `issuer`",
        _ => "it names no issuer",
    };
    format!(
        "{what}; give either `issuer` (the JWTs' `iss` URL) with `issuer-key` (its Ed25519 public \
         key, 64 hex digits), or a `[provider]` table (`repository`, `workflow`, optional \
         `environment` and `ref`) for a test OIDC provider started beside the registry"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_used_is_a_bad_input_file() {
        let missing = TrustedFile::load(Path::new("/nonexistent/trusted.toml")).unwrap_err();
        assert_eq!(missing.exit(), Exit::BadInputFile);
    }

    const CRATE: &str =
        "[[crate]]\nname = \"a\"\nrepository = \"o/r\"\nworkflow = \"release.yml\"\n";

    #[test]
    fn a_built_in_provider_with_defaults() {
        let file = TrustedFile::parse(&format!(
            "[provider]\nrepository = \"o/r\"\nworkflow = \"release.yml\"\n{CRATE}"
        ))
        .unwrap();
        assert_eq!(file.token_lifetime, Duration::from_secs(1800));
        assert!(!file.new_crates, "crates.io's rule by default");
        assert_eq!(file.configs[0].krate, "a");
        let IssuerSpec::BuiltIn(claims) = &file.issuer else {
            panic!("{file:?}")
        };
        assert_eq!(
            claims.to_json()["job_workflow_ref"],
            "o/r/.github/workflows/release.yml@refs/heads/main"
        );
    }

    #[test]
    fn the_provider_names_the_environment_in_sub_as_github_does() {
        let claims = |environment: Option<&str>| {
            ProviderClaims {
                repository: "o/r".into(),
                workflow: "release.yml".into(),
                environment: environment.map(str::to_owned),
                git_ref: "refs/heads/main".into(),
            }
            .to_json()
        };
        assert_eq!(claims(None)["sub"], "repo:o/r:ref:refs/heads/main");
        let released = claims(Some("release"));
        assert_eq!(released["sub"], "repo:o/r:environment:release");
        assert_eq!(released["environment"], "release");
        assert_eq!(released["ref"], "refs/heads/main");
    }

    #[test]
    fn the_token_lifetime_is_bounded_to_a_week() {
        let lifetime = |secs: &str| {
            TrustedFile::parse(&format!(
                "token-lifetime = {secs}\n[provider]\nrepository = \"o/r\"\nworkflow = \"r.yml\"\n{CRATE}"
            ))
        };
        assert_eq!(
            lifetime("604800").unwrap().token_lifetime,
            Duration::from_secs(604_800)
        );
        assert_eq!(
            lifetime("1").unwrap().token_lifetime,
            Duration::from_secs(1)
        );
        for bad in ["0", "604801", "9223372036854775807"] {
            let err = lifetime(bad).unwrap_err();
            assert!(
                err.contains(&format!(
                    "`token-lifetime = {bad}` is out of range: give 1 to 604800 seconds"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused_wherever_they_are() {
        let provider = "[provider]\nrepository = \"o/r\"\nworkflow = \"r.yml\"\n";
        for (text, key) in [
            (
                format!("{provider}{CRATE}enviroment = \"release\"\n"),
                "enviroment",
            ),
            (format!("{provider}extra = 1\n{CRATE}"), "extra"),
            (
                format!("token-lifetme = 60\n{provider}{CRATE}"),
                "token-lifetme",
            ),
        ] {
            let err = TrustedFile::parse(&text).unwrap_err();
            assert!(err.contains(&format!("unknown field `{key}`")), "{err}");
        }
    }

    #[test]
    fn names_issuers_formats_audiences_and_environments_are_checked() {
        let provider = "[provider]\nrepository = \"o/r\"\nworkflow = \"r.yml\"\n";
        let err = |text: &str| TrustedFile::parse(text).unwrap_err();
        let table = |name: &str| {
            format!("[[crate]]\nname = \"{name}\"\nrepository = \"o/r\"\nworkflow = \"r.yml\"\n")
        };
        for name in ["1a", "a b", "a.b", "é", &"a".repeat(65)] {
            assert!(
                err(&format!("{provider}{}", table(name))).contains("is not a crate name"),
                "{name}"
            );
        }
        assert!(err(&format!("{provider}{}", table("nul"))).contains("reserved"));
        let key = hex::encode(TestIssuer::new("https://x").unwrap().public_key());
        for issuer in ["x", "ftp://x", "https://", "https:// x", "token.example"] {
            let e = err(&format!(
                "issuer = \"{issuer}\"\nissuer-key = \"{key}\"\n{CRATE}"
            ));
            assert!(e.contains("is not an http(s) URL"), "{issuer}: {e}");
        }
        for issuer in ["http://127.0.0.1:8080", "HTTPS://token.example/path"] {
            TrustedFile::parse(&format!(
                "issuer = \"{issuer}\"\nissuer-key = \"{key}\"\n{CRATE}"
            ))
            .unwrap();
        }
        assert!(
            err(&format!("format = 0\n{provider}{CRATE}")).contains("`format = 0` is not a format")
        );
        TrustedFile::parse(&format!("format = 1\n{provider}{CRATE}")).unwrap();
        assert!(
            err(&format!("audience = \" \"\n{provider}{CRATE}")).contains("`audience` is empty")
        );
        assert!(
            err(&format!("{provider}{CRATE}environment = \"\"\n"))
                .contains("`[[crate]]` `a`: `environment` is empty")
        );
    }

    #[test]
    fn tables_for_one_crate_are_alternatives_counted_once() {
        let provider = "[provider]\nrepository = \"o/r\"\nworkflow = \"r.yml\"\n";
        let table = |name: &str, workflow: &str| {
            format!(
                "[[crate]]\nname = \"{name}\"\nrepository = \"o/r\"\nworkflow = \"{workflow}\"\n"
            )
        };
        let file = TrustedFile::parse(&format!(
            "allow-new-crates = true\n{provider}{}{}{}{}",
            table("foo-bar", "r.yml"),
            table("Foo_Bar", "other.yml"),
            table("foo_bar", "r.yml"),
            table("baz", "r.yml"),
        ))
        .unwrap();
        assert!(file.new_crates);
        assert_eq!(file.configs.len(), 4);
        let (config, _provider) = file.start().unwrap();
        assert_eq!(config.crates(), ["foo-bar", "baz"]);
        assert!(config.new_crates);
    }

    #[test]
    fn an_external_issuer_with_a_hex_key() {
        let key = TestIssuer::new("https://x").unwrap().public_key();
        let file = TrustedFile::parse(&format!(
            "token-lifetime = 60\nissuer = \"https://x\"\nissuer-key = \"{}\"\n{CRATE}",
            hex::encode(key)
        ))
        .unwrap();
        assert_eq!(file.token_lifetime, Duration::from_secs(60));
        assert_eq!(
            file.issuer,
            IssuerSpec::External {
                url: "https://x".into(),
                key
            }
        );
    }

    #[test]
    fn problems_name_the_key() {
        let err = |text: &str| TrustedFile::parse(text).unwrap_err();
        assert!(
            err("[provider]\nrepository = \"o/r\"\nworkflow = \"r.yml\"\n").contains("[[crate]]")
        );
        assert!(err(&format!("issuer = \"x\"\nissuer-key = \"zz\"\n{CRATE}")).contains("not hex"));
        assert!(
            err(&format!("issuer = \"x\"\nissuer-key = \"00\"\n{CRATE}")).contains("1 bytes long")
        );
        assert!(err(&format!("issuer = \"x\"\n{CRATE}")).contains("without `issuer-key`"));
        assert!(err(CRATE).contains("names no issuer"));
        assert!(
            err("[provider]\nrepository = \"o/r\"\nworkflow = \"r.yml\"\n[[crate]]\nname = \"a\"\nrepository = \"o\"\nworkflow = \"r.yml\"\n")
                .contains("`[[crate]]` `a`: `repository = \"o\"` is not `owner/name`")
        );
        assert!(err(&format!("token-lifetime = \"x\"\n{CRATE}")).contains("token-lifetime"));
        assert!(err(&format!("format = 2\n{CRATE}")).contains("newer"));
    }
}
