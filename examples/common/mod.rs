//! Shared by the memory examples (`memory`, `db_memory`): reading this
//! process's memory from `/proc/self/status`, and running this example
//! again as a child that prints one report line for its parent. Linux only.

use std::process::{Command, Stdio};

/// Reads a `kB` field such as `VmRSS` from `/proc/self/status`.
pub(crate) fn status_kb(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status (Linux only): {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kb| kb.trim().parse().ok())
        .ok_or_else(|| format!("no `{field}: N kB` line in /proc/self/status"))
}

/// Runs this executable again with `args` (stderr passed through) and returns
/// the whitespace-separated fields after `prefix` on the first stdout line
/// that starts with it. `what` names the child in error messages.
pub(crate) fn run_child(args: &[&str], prefix: &str, what: &str) -> Result<Vec<String>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let output = Command::new(&exe)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start child {}: {e}", exe.display()))?;
    if !output.status.success() {
        return Err(format!("child measuring {what} failed: {}", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .ok_or_else(|| format!("child measuring {what} printed no report"))?;
    Ok(line.split_whitespace().map(str::to_owned).collect())
}
