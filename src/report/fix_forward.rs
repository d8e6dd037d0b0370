//! Rendering a fix-forward: the new versions, a unified diff of each
//! manifest, and the next release's plan.

use std::io::{self, Write};

use crate::ops::FixForwardReport;
use crate::plan::BumpReason;

pub fn human(report: &FixForwardReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "New versions:")?;
    for bump in &report.bumps.bumps {
        let why = match &bump.why {
            BumpReason::Start => "the fix".to_owned(),
            BumpReason::DependsOn(dep) => format!("depends on {dep}"),
            BumpReason::WorkspaceVersion => "inherits the workspace version".to_owned(),
        };
        writeln!(
            out,
            "  {} {} -> {}  ({why}){}",
            bump.name,
            bump.from,
            bump.to,
            build_note(&bump.to)
        )?;
    }
    if let Some((from, to)) = &report.bumps.workspace_version {
        writeln!(
            out,
            "  [workspace.package] version {from} -> {to}{}",
            build_note(to)
        )?;
    }
    for (name, why) in &report.bumps.kept {
        writeln!(out, "  {name}: kept, {why}")?;
    }
    if !report.admitted.is_empty() {
        writeln!(
            out,
            "\nRequirements kept as written (they admit the new version but do not require it):"
        )?;
        for kept in &report.admitted {
            writeln!(
                out,
                "  {} `{}` admits {}",
                kept.place, kept.requirement, kept.to
            )?;
        }
    }
    writeln!(out)?;
    for change in &report.changes {
        out.write_all(unified_diff(&change.path, &change.before, &change.after).as_bytes())?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        if report.written {
            "The next release (manifests written):"
        } else {
            "The next release, once written:"
        }
    )?;
    super::plan::human(&report.plan, out)?;
    if report.written {
        writeln!(out, "\nPublish it with `{}`.", report.publish)?;
    } else {
        writeln!(
            out,
            "\nDry run: nothing was written. Apply with `--write`, then `{}`.",
            report.publish
        )?;
    }
    Ok(())
}

/// Build metadata is carried to the new version; say so, so it is checked.
fn build_note(to: &semver::Version) -> String {
    if to.build.is_empty() {
        String::new()
    } else {
        format!(
            "; build metadata `+{}` kept: edit it if it no longer describes the build",
            to.build
        )
    }
}

/// A unified diff (3 lines of context) of two texts, line by line.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    // Longest common subsequence table; manifests are small.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // The edit script: (' ' | '-' | '+', line, position in a, position in b).
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i], i, j));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] > lcs[i + 1][j]) {
            ops.push(('+', b[j], i, j));
            j += 1;
        } else {
            ops.push(('-', a[i], i, j));
            i += 1;
        }
    }
    let mut text = format!("--- a/{path}\n+++ b/{path}\n");
    let changed: Vec<usize> = (0..ops.len()).filter(|k| ops[*k].0 != ' ').collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(3);
        let mut end = (changed[k] + 3).min(ops.len() - 1);
        while k + 1 < changed.len() && changed[k + 1] <= end + 3 {
            k += 1;
            end = (changed[k] + 3).min(ops.len() - 1);
        }
        let hunk = &ops[start..=end];
        let a_len = hunk.iter().filter(|o| o.0 != '+').count();
        let b_len = hunk.iter().filter(|o| o.0 != '-').count();
        text.push_str(&format!(
            "@@ -{},{a_len} +{},{b_len} @@\n",
            hunk[0].2 + 1,
            hunk[0].3 + 1
        ));
        for (op, line, _, _) in hunk {
            text.push_str(&format!("{op}{line}\n"));
        }
        k += 1;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines_with_context() {
        let before = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
        let after = "a\nb\nc\nD\ne\nf\ng\nh\ni\n";
        let diff = unified_diff("x/Cargo.toml", before, after);
        assert_eq!(
            diff,
            "--- a/x/Cargo.toml\n+++ b/x/Cargo.toml\n@@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n"
        );
        assert_eq!(unified_diff("p", "same\n", "same\n"), "--- a/p\n+++ b/p\n");
    }
}
