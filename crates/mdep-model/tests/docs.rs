//! The troubleshooting page lists every AADSTS code mdep knows, so it cannot drift.

#[test]
fn troubleshooting_lists_every_known_code() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/troubleshooting.md"
    ))
    .expect("docs/troubleshooting.md");
    for c in mdep_model::aadsts::ALL {
        let row = format!("| AADSTS{} | `{}` | {} |", c.code, c.error, c.status);
        assert!(
            page.contains(&row),
            "docs/troubleshooting.md lacks the row for AADSTS{}: {row}",
            c.code
        );
    }
}
