//! crates.io's publish rules that can be checked before anything is
//! uploaded: crate names (ASCII letters, digits, `-` and `_`, starting with
//! a letter, at most 64 characters, not reserved), the metadata it requires
//! (`description`, and `license` or `license-file`), and the size of a
//! `.crate`. The embedded registry enforces them on upload; `publish` and
//! `rehearse` check them up front when the live target is crates.io, so a
//! release crates.io would refuse midway is refused before its first upload.

/// The longest crate name crates.io accepts.
pub const MAX_NAME_LEN: usize = 64;

/// The largest `.crate` crates.io accepts (its default).
pub const MAX_CRATE_BYTES: u64 = 10 * 1024 * 1024;

/// What crates.io answers an upload that misses required metadata, for
/// the `missing` fields (`description`, `license`).
pub fn missing_metadata_message(missing: &[&str]) -> String {
    format!(
        "missing or empty metadata fields: {}. Please see \
         https://doc.rust-lang.org/cargo/reference/manifest.html for more info on how to \
         upload metadata.",
        missing.join(", ")
    )
}

/// The required metadata fields a crate misses, as crates.io names them.
pub fn missing_metadata(description: bool, license: bool) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !description {
        missing.push("description");
    }
    if !license {
        missing.push("license");
    }
    missing
}

/// Why crates.io refuses `name`, if it does.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    if !name.is_ascii() {
        return Some(
            "the name has non-ASCII characters: crates.io takes only ASCII letters, digits, `-` \
             and `_`"
                .into(),
        );
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!(
            "the name has {} characters: crates.io takes at most {MAX_NAME_LEN}",
            name.len()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some("the name must start with an ASCII letter on crates.io".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Some(format!(
            "the name has `{c}`: crates.io takes only ASCII letters, digits, `-` and `_`"
        ));
    }
    if reserved_name(name) {
        return Some(
            "the name is reserved on crates.io (the standard library's and compiler's crates, \
             Windows device names)"
                .into(),
        );
    }
    None
}

/// crates.io's canonical form of a crate name: names with the same
/// canonical form are the same crate.
pub fn canonical_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

/// Names crates.io reserves: the standard library's and the compiler's own
/// crates, and names Windows keeps for devices (a file `con.rs` cannot exist).
const RESERVED: &[&str] = &[
    "alloc",
    "arena",
    "ast",
    "builtins",
    "collections",
    "compiler-builtins",
    "compiler-rt",
    "compiletest",
    "core",
    "coretest",
    "debug",
    "driver",
    "flate",
    "fmt_macros",
    "grammar",
    "graphviz",
    "macro",
    "macros",
    "proc_macro",
    "rbml",
    "rust-installer",
    "rustbook",
    "rustc",
    "rustc_back",
    "rustc_borrowck",
    "rustc_driver",
    "rustc_llvm",
    "rustc_resolve",
    "rustc_trans",
    "rustc_typeck",
    "rustdoc",
    "rustllvm",
    "rustuv",
    "serialize",
    "std",
    "syntax",
    "test",
    "unicode",
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
];

/// Whether crates.io refuses `name` as reserved (compared in canonical form).
pub fn reserved_name(name: &str) -> bool {
    let name = canonical_name(name);
    RESERVED.iter().any(|r| canonical_name(r) == name)
}

/// crates.io's name rule.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_crates_io_refuses_and_why() {
        for ok in ["serde", "a-b_c", "x1", &"a".repeat(64)] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("naïve", "non-ASCII"),
            (&"a".repeat(65) as &str, "at most 64"),
            ("_private", "start with an ASCII letter"),
            ("1st", "start with an ASCII letter"),
            ("a.b", "`.`"),
            ("std", "reserved"),
            ("Proc-Macro", "reserved"),
            ("nul", "reserved"),
        ] {
            let problem = name_problem(bad).unwrap_or_default();
            assert!(problem.contains(why), "{bad}: {problem}");
        }
        assert_eq!(missing_metadata(false, false), ["description", "license"]);
        assert!(missing_metadata(true, true).is_empty());
    }
}
