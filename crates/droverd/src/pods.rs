//! Inventory: what each pod holds and where it stands. Imports come from JSON (`PUT
//! /api/pods`, `droverd import-pods FILE.json`) or CSV (`droverd import-pods FILE.csv`, one
//! `pod,sku,units` row per SKU), checked against the floor with errors that name the line or
//! entry; at startup [`restore_pods`] puts stored pods back where the store last saw them.

use std::collections::{BTreeMap, HashMap, HashSet};

use drover_grid::Cell;
use drover_grid::load::Floor;
use drover_store::{ContentsRecord, Recovered};
use serde::Deserialize;

/// Units one pod may hold of one SKU at most (an import beyond it is a typo).
pub const MAX_UNITS: u32 = 1_000_000;

/// One pod's new contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodContents {
    /// Pod name on the floor.
    pub pod: String,
    /// SKU -> units (a pod listed with no SKU is emptied).
    pub contents: BTreeMap<String, u32>,
}

/// `{"pods": [{"pod": "pod-0001", "contents": {"SKU-1": 12}}]}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PodsIn {
    /// Pods and what each holds now.
    pub pods: Vec<PodIn>,
}

/// One pod in [`PodsIn`].
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PodIn {
    /// Pod name on the floor.
    pub pod: String,
    /// SKU -> units.
    pub contents: BTreeMap<String, u32>,
}

/// Checks an import against the floor's pod names: every pod exists and appears once, SKU
/// names are 1 to 100 bytes, units at most [`MAX_UNITS`]. `at(k)` names entry `k` in errors.
fn check(
    pods: Vec<PodContents>,
    names: &HashSet<String>,
    at: &dyn Fn(usize) -> String,
) -> Result<Vec<PodContents>, String> {
    let mut seen = HashSet::new();
    for (k, p) in pods.iter().enumerate() {
        if !names.contains(&p.pod) {
            return Err(format!("{}: no pod {:?} on this floor", at(k), p.pod));
        }
        if !seen.insert(p.pod.clone()) {
            return Err(format!("{}: pod {:?} is listed twice", at(k), p.pod));
        }
        for (sku, units) in &p.contents {
            if sku.is_empty() || sku.len() > 100 {
                return Err(format!("{}: SKU names are 1 to 100 bytes", at(k)));
            }
            if *units > MAX_UNITS {
                return Err(format!(
                    "{}: {units} units of {sku:?} is more than {MAX_UNITS}",
                    at(k)
                ));
            }
        }
    }
    Ok(pods)
}

/// Reads the JSON form ([`PodsIn`]).
pub fn from_json(text: &str, names: &HashSet<String>) -> Result<Vec<PodContents>, String> {
    let input: PodsIn = serde_json::from_str(text).map_err(|e| format!("JSON: {e}"))?;
    from_input(input, names)
}

/// Checks an already parsed [`PodsIn`].
pub fn from_input(input: PodsIn, names: &HashSet<String>) -> Result<Vec<PodContents>, String> {
    let pods = input
        .pods
        .into_iter()
        .map(|p| PodContents {
            pod: p.pod,
            contents: p.contents,
        })
        .collect();
    check(pods, names, &|k| format!("pods[{k}]"))
}

/// Reads the CSV form: `pod,sku,units` per line, an optional header line `pod,sku,units`,
/// blank lines and `#` comments ignored; rows of one pod may be anywhere.
pub fn from_csv(text: &str, names: &HashSet<String>) -> Result<Vec<PodContents>, String> {
    let mut pods: Vec<PodContents> = Vec::new();
    let mut lines: Vec<usize> = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let line = k + 1;
        let row = raw.trim();
        if row.is_empty() || row.starts_with('#') || (line == 1 && row == "pod,sku,units") {
            continue;
        }
        let fields: Vec<&str> = row.split(',').map(str::trim).collect();
        let [pod, sku, units] = fields[..] else {
            return Err(format!(
                "line {line}: expected pod,sku,units, found {} fields",
                fields.len()
            ));
        };
        let units: u32 = units
            .parse()
            .map_err(|_| format!("line {line}: units {units:?} is not a whole number"))?;
        if !names.contains(pod) {
            return Err(format!("line {line}: no pod {pod:?} on this floor"));
        }
        let i = match pods.iter().position(|p| p.pod == pod) {
            Some(i) => i,
            None => {
                pods.push(PodContents {
                    pod: pod.to_string(),
                    contents: BTreeMap::new(),
                });
                lines.push(line);
                pods.len() - 1
            }
        };
        if pods[i].contents.insert(sku.to_string(), units).is_some() {
            return Err(format!("line {line}: {pod} lists SKU {sku:?} twice"));
        }
    }
    check(pods, names, &|k| format!("line {}", lines[k]))
}

/// `droverd import-pods`: reads `file` (CSV if it ends in `.csv`, else JSON), checks it
/// against `floor` and writes the contents into the store in `data_dir` in one transaction,
/// each pod in the slot the store (or the floor file) has it. Returns how many pods.
pub fn import_file(
    file: &std::path::Path,
    floor: &mut drover_grid::load::Floor,
    data_dir: &std::path::Path,
) -> anyhow::Result<usize> {
    use drover_store::{Store, Write};
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let names: HashSet<String> = floor.pods.iter().map(|p| p.id.clone()).collect();
    let csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let pods = if csv {
        from_csv(&text, &names)
    } else {
        from_json(&text, &names)
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let path = data_dir.join("drover.db");
    let store = drover_store::SqliteStore::open(&path)
        .map_err(|e| anyhow::anyhow!("store {}: {e}", path.display()))?;
    let recovered = store
        .recover()
        .map_err(|e| anyhow::anyhow!("store {}: {e}", path.display()))?;
    restore_pods(floor, &recovered);
    let writes: Vec<Write> = pods
        .iter()
        .map(|p| {
            let k = floor.pods.iter().position(|f| f.id == p.pod).unwrap_or(0);
            Write::PutPod {
                name: p.pod.clone(),
                slot: floor.pods[k].cell.0,
                contents: ContentsRecord::V1(p.contents.clone().into_iter().collect()),
            }
        })
        .collect();
    store
        .apply(&writes)
        .map_err(|e| anyhow::anyhow!("store {}: {e}", path.display()))?;
    Ok(pods.len())
}

/// Puts stored pods back where the store last saw them: slot and contents. A slot claimed
/// twice (a pod lifted and not yet stored again when the coordinator stopped, its old slot
/// since taken) sends the later claimant to a free slot.
pub fn restore_pods(floor: &mut Floor, recovered: &Recovered) {
    let index: HashMap<String, usize> = floor
        .pods
        .iter()
        .enumerate()
        .map(|(k, p)| (p.id.clone(), k))
        .collect();
    let storage: std::collections::HashSet<u32> = floor.storage.iter().map(|c| c.0).collect();
    let mut stored = vec![false; floor.pods.len()];
    for (name, slot, contents) in &recovered.pods {
        let Some(&k) = index.get(name) else {
            tracing::warn!(pod = %name, "stored pod is not on this floor; ignored");
            continue;
        };
        if !storage.contains(slot) {
            tracing::warn!(pod = %name, slot, "stored slot is not a storage cell; pod left at its floor slot");
            continue;
        }
        floor.pods[k].cell = Cell(*slot);
        if let ContentsRecord::V1(items) = contents {
            floor.pods[k].contents = items.iter().cloned().collect();
        }
        stored[k] = true;
    }
    // Stored pods claim their slots first, then the rest keep theirs when free.
    let mut taken: std::collections::HashSet<u32> = std::collections::HashSet::new();
    let mut homeless = Vec::new();
    for pass in [true, false] {
        for (k, &was_stored) in stored.iter().enumerate() {
            if was_stored != pass {
                continue;
            }
            if !taken.insert(floor.pods[k].cell.0) {
                homeless.push(k);
            }
        }
    }
    let mut free = floor.storage.iter().filter(|c| !taken.contains(&c.0));
    for k in homeless {
        match free.next() {
            Some(c) => floor.pods[k].cell = *c,
            None => tracing::error!(pod = %floor.pods[k].id, "no free slot for a pod"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> HashSet<String> {
        ["pod-0001", "pod-0002"].map(String::from).into()
    }

    #[test]
    fn csv_rows_become_pods_and_errors_name_the_line() {
        let pods = from_csv(
            "pod,sku,units\npod-0001,A,3\n# comment\npod-0002,B,1\npod-0001,C,2\n",
            &names(),
        )
        .unwrap();
        assert_eq!(pods.len(), 2);
        assert_eq!(pods[0].contents, [("A".into(), 3), ("C".into(), 2)].into());
        for (text, needle) in [
            (
                "pod-0001,A\n",
                "line 1: expected pod,sku,units, found 2 fields",
            ),
            (
                "pod-0001,A,1\npod-0009,A,1\n",
                "line 2: no pod \"pod-0009\"",
            ),
            (
                "pod-0001,A,x\n",
                "line 1: units \"x\" is not a whole number",
            ),
            (
                "pod-0001,A,1\npod-0001,A,2\n",
                "line 2: pod-0001 lists SKU \"A\" twice",
            ),
            ("pod-0001,A,4000000\n", "line 1: 4000000 units"),
        ] {
            let e = from_csv(text, &names()).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn json_entries_are_checked_by_index() {
        let ok = r#"{"pods": [{"pod": "pod-0002", "contents": {"A": 1}}]}"#;
        assert_eq!(from_json(ok, &names()).unwrap()[0].pod, "pod-0002");
        let twice = r#"{"pods": [{"pod": "pod-0002", "contents": {}},
                                  {"pod": "pod-0002", "contents": {}}]}"#;
        assert!(
            from_json(twice, &names())
                .unwrap_err()
                .contains("pods[1]: pod \"pod-0002\" is listed twice")
        );
        let unknown = r#"{"pods": [{"pod": "x", "contents": {}}]}"#;
        assert!(
            from_json(unknown, &names())
                .unwrap_err()
                .contains("pods[0]: no pod \"x\"")
        );
        assert!(from_json("{", &names()).unwrap_err().starts_with("JSON:"));
    }
}
