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
    let err = SqliteStore::open(&path).err().expect("refused");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("is damaged"), "{err}");
}

/// A database with `n` tasks, a zone and a pod, closed (its WAL checkpointed into the file).
fn filled_db(name: &str, n: usize) -> std::path::PathBuf {
    let path = temp_db(name);
    let store = SqliteStore::open(&path).unwrap();
    let mut writes: Vec<Write> = (0..n)
        .map(|k| insert(None, pick(&format!("SKU-{k}"))))
        .collect();
    writes.push(Write::PutZone {
        id: 3,
        zone: ZoneRecord::V1(ZoneSpecV1 {
            name: "spill".into(),
            cells: vec![10],
            max_speed: None,
        }),
    });
    writes.push(Write::PutPod {
        name: "P7".into(),
        slot: 17,
        contents: ContentsRecord::V1(vec![("A".into(), 3)]),
    });
    store.apply(&writes).unwrap();
    drop(store);
    path
}

#[test]
fn a_record_that_does_not_decode_refuses_the_open_naming_its_table_and_id() {
    let cases = [
        ("UPDATE tasks SET spec = x'ff' WHERE id = 2", "tasks", "2"),
        (
            "UPDATE tasks SET status = 'lost' WHERE id = 3",
            "tasks",
            "3",
        ),
        (
            "UPDATE zones SET body = x'07ffff' WHERE id = 3",
            "zones",
            "3",
        ),
        (
            "UPDATE pods SET contents = x'09' WHERE name = 'P7'",
            "pods",
            "P7",
        ),
    ];
    for (k, (sql, table, id)) in cases.into_iter().enumerate() {
        let path = filled_db(&format!("record-{k}"), 4);
        // A healthy file opens.
        drop(SqliteStore::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        assert_eq!(conn.execute(sql, []).unwrap(), 1, "{sql}");
        drop(conn);
        let err = SqliteStore::open(&path).err().expect("refused");
        match &err {
            StoreError::CorruptRecord {
                table: t, id: i, ..
            } => assert_eq!((*t, i.as_str()), (table, id), "{sql}"),
            other => panic!("{sql}: {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains(&format!("table {table}, id {id}")), "{text}");
    }
}

/// A database whose last pages hold only settings (which the record check does not read):
/// damage there is found by `quick_check` alone.
fn db_with_settings_at_the_end(name: &str) -> (std::path::PathBuf, u64) {
    let path = filled_db(name, 20);
    let store = SqliteStore::open(&path).unwrap();
    let writes: Vec<Write> = (0..400)
        .map(|k| Write::Setting {
            key: format!("bulk-{k:04}"),
            value: format!("{k}-").repeat(600),
        })
        .collect();
    store.apply(&writes).unwrap();
    drop(store);
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 512 * 1024, "enough pages to damage some: {len}");
    (path, len)
}

#[test]
fn a_damaged_file_fails_quick_check_and_refuses_the_open() {
    let (path, len) = db_with_settings_at_the_end("garbled");
    // Garbage over pages near the end, header and records intact: SQLite opens the file, the
    // records decode, and only `quick_check` finds the damage.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() * 3 / 4;
    for (k, b) in bytes[at..at + 32 * 1024].iter_mut().enumerate() {
        *b = (k * 131 % 251) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = SqliteStore::open(&path).err().expect("refused");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("is damaged") && text.contains("quick_check"),
        "{text}"
    );

    // Cut short: pages the tree points to are gone.
    let (path, _) = db_with_settings_at_the_end("truncated");
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len * 3 / 4).unwrap();
    drop(file);
    let err = SqliteStore::open(&path).err().expect("refused");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_second_lock_on_a_data_dir_is_refused_naming_the_holder_until_the_first_is_dropped() {
    let dir = temp_db("lock").parent().unwrap().to_path_buf();
    let first = DirLock::acquire(&dir, "droverd pid 4242 on host h1, started at noon").unwrap();
    assert_eq!(first.path(), dir.join(LOCK_FILE));
    // A second open of the file (as a second process would) cannot take it, and learns
    // who holds it.
    let err = DirLock::acquire(&dir, "droverd pid 5353").unwrap_err();
    match &err {
        StoreError::Locked { holder, .. } => {
            assert_eq!(holder, "droverd pid 4242 on host h1, started at noon")
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("pid 4242"), "{err}");
    drop(first);
    let second = DirLock::acquire(&dir, "droverd pid 5353").unwrap();
    assert_eq!(
        std::fs::read_to_string(second.path()).unwrap().trim(),
        "droverd pid 5353",
        "the new holder's name replaces the old one"
    );
}

/// A store that refuses every commit while `failing` is set.
struct Refusing {
    inner: SqliteStore,
    failing: std::sync::atomic::AtomicBool,
}

impl Store for Refusing {
    fn apply(&self, writes: &[Write]) -> Result<Vec<Outcome>, StoreError> {
        if self.failing.load(Ordering::Relaxed) {
            return Err(StoreError::Commit("database or disk is full".into()));
        }
        self.inner.apply(writes)
    }
    fn recover(&self) -> Result<Recovered, StoreError> {
        self.inner.recover()
    }
    fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRow>, StoreError> {
        self.inner.tasks(query)
    }
    fn task(&self, id: u64) -> Result<Option<TaskRow>, StoreError> {
        self.inner.task(id)
    }
    fn entered(&self, id: u64, status: TaskStatus) -> Result<u64, StoreError> {
        self.inner.entered(id, status)
    }
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        self.inner.audit(query)
    }
}

#[test]
fn a_failed_commit_is_returned_and_counted_and_stores_nothing() {
    let store = Arc::new(Refusing {
        inner: SqliteStore::open(&temp_db("refusing")).unwrap(),
        failing: std::sync::atomic::AtomicBool::new(false),
    });
    let committer = Committer::start(store.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        committer
            .commit(vec![insert(None, pick("A"))])
            .await
            .unwrap();
        store.failing.store(true, Ordering::Relaxed);
        let err = committer
            .commit(vec![insert(None, pick("B")), moved(1, TaskStatus::Done)])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("disk is full"), "{err}");
        assert_eq!(committer.failures(), 1);
        store.failing.store(false, Ordering::Relaxed);
        committer
            .commit(vec![moved(1, TaskStatus::Done)])
            .await
            .unwrap();
    });
    assert_eq!(
        committer.failures(),
        1,
        "a success does not reset the count"
    );
    assert_eq!(store.entered(1, TaskStatus::Done).unwrap(), 1);
    assert!(
        store.task(2).unwrap().is_none(),
        "nothing of the failed batch"
    );
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
