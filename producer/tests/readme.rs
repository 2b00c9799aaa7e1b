//! The README's table of accepted request shapes is the table in code
//! (`protocol::shapes`): this test fails, printing the expected text, when they differ.
//! `UPDATE_README=1 cargo test -p producer --test readme` writes the expected text in.

use protocol::shapes::{markdown_table, FIELD_NAMES, NORMALISATION};

const BEGIN: &str =
    "<!-- shapes: generated from protocol/src/shapes.rs; see producer/tests/readme.rs -->\n";
const END: &str = "<!-- /shapes -->";

/// The README's block, from the table: the rows, the normalisation rules, the spellings.
fn expected() -> String {
    let mut text = markdown_table();
    text.push_str("\nEvery request also follows these rules:\n\n");
    for rule in NORMALISATION {
        text.push_str(&format!("- {rule}\n"));
    }
    text.push_str("\n| field | also accepted as | as a JSON number |\n| --- | --- | --- |\n");
    for field in FIELD_NAMES {
        let aliases: Vec<String> = field.aliases.iter().map(|a| format!("`{a}`")).collect();
        text.push_str(&format!(
            "| `{}` | {} | {} |\n",
            field.name,
            if aliases.is_empty() {
                "-".to_owned()
            } else {
                aliases.join(", ")
            },
            if field.numbers {
                "taken as written"
            } else {
                "refused"
            },
        ));
    }
    text
}

#[test]
fn the_readme_table_of_shapes_is_the_table_in_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let start = readme
        .find(BEGIN)
        .expect("the README marks its table of shapes")
        + BEGIN.len();
    let end = start + readme[start..].find(END).expect("the table's end marker");
    let expected = expected();
    if readme[start..end] == expected {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{expected}{}", &readme[..start], &readme[end..]);
        std::fs::write(path, updated).expect("write README.md");
        return;
    }
    panic!(
        "README.md's table of shapes differs from protocol::shapes; between its markers it \
         should read (or run UPDATE_README=1 cargo test -p producer --test readme):\n\n{expected}"
    );
}
