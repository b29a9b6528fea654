//! Inventory imports (`droverd::pods::from_json`, the body of `PUT /api/pods` and
//! `import-pods FILE.json`, and `from_csv`, `import-pods FILE.csv`) against the demo floor's
//! pods. What they accept names only pods of the floor, each once, within the limits.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use droverd::pods::{MAX_UNITS, PodContents, from_csv, from_json};
use libfuzzer_sys::fuzz_target;

fn names() -> &'static HashSet<String> {
    static NAMES: OnceLock<HashSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        drover_fuzz::demo_floor()
            .pods
            .iter()
            .map(|p| p.id.clone())
            .collect()
    })
}

fn check(pods: &[PodContents]) {
    let mut seen = HashSet::new();
    for p in pods {
        assert!(names().contains(&p.pod) && seen.insert(&p.pod));
        for (sku, units) in &p.contents {
            assert!(!sku.is_empty() && sku.len() <= 100 && *units <= MAX_UNITS);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pods) = from_json(text, names()) {
        check(&pods);
    }
    if let Ok(pods) = from_csv(text, names()) {
        check(&pods);
    }
});
