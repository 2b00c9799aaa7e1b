//! The README's table of checks is the catalogue's: the same checks, in the same
//! order, each marked required or advice as the exit status treats it.

#[test]
fn the_readmes_table_of_checks_matches_the_catalogue() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md beside the workspace");
    let rows: Vec<(String, bool)> = readme
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("| `")?;
            let (key, rest) = rest.split_once("` | ")?;
            let kind = rest.split(' ').next()?;
            matches!(kind, "required" | "advice").then(|| (key.to_string(), kind == "required"))
        })
        .collect();
    let catalogue: Vec<(String, bool)> = checker::catalogue::CHECKS
        .iter()
        .map(|c| (c.key.to_string(), c.required))
        .collect();
    assert_eq!(rows, catalogue);
}
