//! Store tests on real SQLite files in the temp dir.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::record::{PodChoice, SpecKind, ZoneSpec, ZoneSpecV1};
use crate::*;

fn temp_db(name: &str) -> std::path::PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "drover-store-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("drover.db")
}

fn pick(sku: &str) -> TaskSpec {
    TaskSpec {
        kind: SpecKind::Pick {
            pod: PodChoice::Sku(sku.into()),
            station: None,
            units: 1,
        },
        priority: 0,
        deadline_ms: None,
    }
}

fn insert(key: Option<&str>, spec: TaskSpec) -> Write {
    Write::InsertTask {
        key: key.map(str::to_string),
        spec,
        at_ms: 1,
    }
}

fn moved(id: u64, status: TaskStatus) -> Write {
    Write::Transition {
        id,
        status,
        robot: Some("r1".into()),
        reason: None,
        at_ms: 2,
    }
}

#[test]
fn idempotent_keys_and_conflicts() {
    let store = SqliteStore::open(&temp_db("keys")).unwrap();
    let out = store
        .apply(&[
            insert(Some("a"), pick("X")),
            insert(Some("a"), pick("X")),
            insert(Some("a"), pick("Y")),
            insert(None, pick("X")),
        ])
        .unwrap();
    assert_eq!(
        out,
        vec![
            Outcome::Inserted { id: 1 },
            Outcome::Existing { id: 1 },
            Outcome::KeyConflict { id: 1 },
            Outcome::Inserted { id: 2 },
        ]
    );
    let t = store.task(1).unwrap().unwrap();
    assert_eq!(t.spec, pick("X"));
    assert_eq!(t.key.as_deref(), Some("a"));
    assert_eq!(t.status, TaskStatus::Queued);
    assert!(store.task(99).unwrap().is_none());
    assert!(store.task(u64::MAX).unwrap().is_none());
}

#[test]
fn a_final_task_never_moves_again() {
    let store = SqliteStore::open(&temp_db("final")).unwrap();
    store.apply(&[insert(None, pick("X"))]).unwrap();
    let out = store
        .apply(&[
            moved(1, TaskStatus::Assigned),
            moved(1, TaskStatus::Done),
            moved(1, TaskStatus::Done),
            moved(1, TaskStatus::Queued),
            moved(7, TaskStatus::Done),
        ])
        .unwrap();
    assert_eq!(out[0], Outcome::Moved);
    assert_eq!(out[1], Outcome::Moved);
    assert!(matches!(out[2], Outcome::Refused { .. }));
    assert!(matches!(out[3], Outcome::Refused { .. }));
    assert!(matches!(&out[4], Outcome::Refused { reason } if reason.contains("no task 7")));
    assert_eq!(store.entered(1, TaskStatus::Done).unwrap(), 1);
    let t = store.task(1).unwrap().unwrap();
    assert_eq!(
        (t.status, t.robot.as_deref()),
        (TaskStatus::Done, Some("r1"))
    );
}

#[test]
fn recovery_survives_reopening() {
    let path = temp_db("reopen");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .apply(&[
                insert(None, pick("A")),
                insert(None, pick("B")),
                insert(None, pick("C")),
                moved(2, TaskStatus::InProgress),
                moved(3, TaskStatus::Cancelled),
                Write::Staff {
                    station: "pick-1".into(),
                    associate: Some("ann".into()),
                },
                Write::Staff {
                    station: "pick-2".into(),
                    associate: None,
                },
                Write::PutZone {
                    id: 4,
                    zone: ZoneRecord::V1(ZoneSpecV1 {
                        name: "spill".into(),
                        cells: vec![10, 11],
                        max_speed: None,
                    }),
                },
                Write::PutZone {
                    id: 5,
                    zone: ZoneRecord::V2(ZoneSpec {
                        name: "tech".into(),
                        cells: vec![20],
                        max_speed: None,
                        access: vec![21, 22],
                    }),
                },
                Write::PutPod {
                    name: "P1".into(),
                    slot: 17,
                    contents: ContentsRecord::V1(vec![("A".into(), 3)]),
                },
                Write::Setting {
                    key: "fleet_paused".into(),
                    value: "true".into(),
                },
                Write::Setting {
                    key: "fleet_paused".into(),
                    value: "false".into(),
                },
                Write::Setting {
                    key: "other".into(),
                    value: "x".into(),
                },
            ])
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let r = store.recover().unwrap();
    assert_eq!(r.open.iter().map(|t| t.id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(r.open[1].status, TaskStatus::InProgress);
    assert_eq!(r.staffed, vec![("pick-1".to_string(), "ann".to_string())]);
    let zones: Vec<(u64, ZoneSpec)> = r.zones.iter().map(|(id, z)| (*id, z.spec())).collect();
    assert_eq!(zones.len(), 2);
    assert_eq!((zones[0].0, zones[0].1.access.len()), (4, 0));
    assert_eq!((zones[1].0, zones[1].1.access.clone()), (5, vec![21, 22]));
    assert_eq!(
        r.pods,
        vec![(
            "P1".to_string(),
            17,
            ContentsRecord::V1(vec![("A".into(), 3)])
        )]
    );
    assert_eq!(
        r.settings,
        vec![
            ("fleet_paused".to_string(), "false".to_string()),
            ("other".to_string(), "x".to_string())
        ],
        "the last value of each setting"
    );
    let mut counts = r.counts.clone();
    counts.sort_by_key(|c| c.0.name());
    assert_eq!(
        counts,
        vec![
            (TaskStatus::Cancelled, 1),
            (TaskStatus::InProgress, 1),
            (TaskStatus::Queued, 1)
        ]
    );
    let queued = store
        .tasks(&TaskQuery {
            statuses: vec![TaskStatus::Queued, TaskStatus::Cancelled],
            after: Some(1),
            limit: 10,
        })
        .unwrap();
    assert_eq!(queued.iter().map(|t| t.id).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn a_newer_schema_is_refused() {
    let path = temp_db("newer");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).err().expect("refused");
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn a_broken_file_is_an_error_not_a_panic() {
    let path = temp_db("broken");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        b"this is not a database, just some bytes".repeat(200),
    )
    .unwrap();
    assert!(SqliteStore::open(&path).is_err());
}

#[test]
fn the_committer_groups_concurrent_writes() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&temp_db("group")).unwrap());
    let committer = Committer::start(store.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let ids = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for k in 0..200 {
            let c = committer.clone();
            set.spawn(async move {
                c.commit(vec![insert(Some(&format!("k{}", k % 150)), pick("X"))])
                    .await
                    .unwrap()
            });
        }
        let mut ids = Vec::new();
        while let Some(out) = set.join_next().await {
            match out.unwrap()[0] {
                Outcome::Inserted { id } | Outcome::Existing { id } => ids.push(id),
                ref other => panic!("{other:?}"),
            }
        }
        ids
    });
    assert_eq!(ids.len(), 200);
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 150);
    assert_eq!(
        store
            .tasks(&TaskQuery {
                limit: 1000,
                ..TaskQuery::default()
            })
            .unwrap()
            .len(),
        150
    );
}
