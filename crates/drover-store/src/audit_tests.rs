//! Tests of the audit trail on a real SQLite file.

use crate::{AuditEntry, AuditQuery, SqliteStore, Store, Write};

fn entry(n: u16) -> Write {
    Write::Audit(AuditEntry {
        at_ms: 1_000 + u64::from(n),
        role: "operator".into(),
        method: "POST".into(),
        path: format!("/api/tasks/{n}/cancel"),
        summary: String::new(),
        status: 200,
        task: Some(u64::from(n)),
    })
}

#[test]
fn audit_entries_page_in_id_order_and_a_huge_cursor_lists_nothing() {
    let dir = std::env::temp_dir().join(format!("drover-store-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir.join("drover.db")).unwrap();
    let writes: Vec<Write> = (1..=5).map(entry).collect();
    store.apply(&writes).unwrap();
    let first = store
        .audit(&AuditQuery {
            after: None,
            limit: 2,
        })
        .unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].entry.path, "/api/tasks/1/cancel");
    let next = store
        .audit(&AuditQuery {
            after: Some(first[1].id),
            limit: 10,
        })
        .unwrap();
    let tasks: Vec<Option<u64>> = next.iter().map(|r| r.entry.task).collect();
    assert_eq!(tasks, vec![Some(3), Some(4), Some(5)]);
    let none = store
        .audit(&AuditQuery {
            after: Some(u64::MAX),
            limit: 10,
        })
        .unwrap();
    assert!(none.is_empty(), "u64::MAX must not wrap to -1: {none:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
