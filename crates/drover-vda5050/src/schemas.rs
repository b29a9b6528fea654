//! The official VDA 5050 JSON schemas drover speaks (2.0.0 and 2.1.0, copied byte for byte
//! into `schemas/` with their licence and provenance), for tests that validate messages.
//! Behind the `schemas` feature: nothing in a build of droverd carries them.

use crate::Version;

/// The message kinds with a schema.
pub const KINDS: [&str; 6] = [
    "order",
    "instantActions",
    "state",
    "connection",
    "factsheet",
    "visualization",
];

macro_rules! schema_files {
    ($dir:literal) => {
        [
            include_str!(concat!("../schemas/", $dir, "/order.schema")),
            include_str!(concat!("../schemas/", $dir, "/instantActions.schema")),
            include_str!(concat!("../schemas/", $dir, "/state.schema")),
            include_str!(concat!("../schemas/", $dir, "/connection.schema")),
            include_str!(concat!("../schemas/", $dir, "/factsheet.schema")),
            include_str!(concat!("../schemas/", $dir, "/visualization.schema")),
        ]
    };
}

const V2_0: [&str; 6] = schema_files!("v2.0.0");
const V2_1: [&str; 6] = schema_files!("v2.1.0");

/// The schema of message `kind` (one of [`KINDS`]) in `version`, parsed.
///
/// # Panics
/// For a kind not in [`KINDS`]. The published 2.0.0 `state.schema` has one trailing comma
/// (`SOURCES.md`), which is removed in memory before parsing.
pub fn schema(version: Version, kind: &str) -> serde_json::Value {
    let k = KINDS
        .iter()
        .position(|x| *x == kind)
        .unwrap_or_else(|| panic!("no schema for {kind:?}"));
    let text = match version {
        Version::V2_0 => V2_0[k],
        Version::V2_1 => V2_1[k],
    };
    let text = strip_trailing_commas(text);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{version} {kind} schema: {e}"))
}

/// Removes commas that stand right before a closing `]` or `}` (outside strings).
fn strip_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            escaped = !escaped && c == '\\';
            in_string = escaped || c != '"';
        } else if c == '"' {
            in_string = true;
        } else if c == ','
            && chars[i + 1..]
                .iter()
                .find(|c| !c.is_whitespace())
                .is_some_and(|c| matches!(c, ']' | '}'))
        {
            continue;
        }
        out.push(c);
    }
    out
}
