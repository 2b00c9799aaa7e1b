//! Renderings of reports: a terminal table (and the `--urls` summary) and a
//! self-contained HTML file. `--json` needs no module: it is the reports' serde form.

pub mod html;
pub mod terminal;
