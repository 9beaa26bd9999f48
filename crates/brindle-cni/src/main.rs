//! The `brindle` / `brindle-ipam` CNI plugin binary: reads the configuration on stdin and the
//! `CNI_*` environment, prints the result or the error object on stdout.

use std::io::{Read, Write};
use std::process::ExitCode;

use brindle_cni::{Role, run};

/// Overrides the role otherwise taken from the program name (`brindle` or `brindle-ipam`).
const ROLE_ENV: &str = "BRINDLE_CNI_ROLE";

fn main() -> ExitCode {
    let program = std::env::var(ROLE_ENV)
        .ok()
        .or_else(|| std::env::args().next())
        .unwrap_or_default();
    let role = Role::from_program(&program);
    let mut stdin = Vec::new();
    // A failed read leaves stdin empty, which is then reported as undecodable.
    let _ = std::io::stdin().read_to_end(&mut stdin);
    let outcome = run(role, |k| std::env::var(k).ok(), &stdin);
    if let Some(v) = outcome.stdout {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }
    if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
