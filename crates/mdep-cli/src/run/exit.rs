//! Exit code 3: some tenants (devices, indicators, tokens) failed while the others went
//! through.

/// A run whose tenants are not all ready (or a token that is invalid): exit code 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotReady(pub String);

/// `Err(NotReady("{failed} of {total} {what}"))` when any failed, else `Ok(())`.
pub fn some_failed(failed: usize, total: usize, what: &str) -> anyhow::Result<()> {
    if failed > 0 {
        return Err(NotReady(format!("{failed} of {total} {what}")).into());
    }
    Ok(())
}

/// Prints a failure on stderr as `{who}: failed: {error}`, with its hint when it has one.
pub fn report_failure(who: &str, e: &mdep_api::ApiError) {
    eprintln!("{who}: failed: {e}");
    if let Some(h) = e.hint() {
        eprintln!("  hint: {h}");
    }
}
