//! Operator commands between ticks: tasks cancelled, robots paused, reset or taken out, stations
//! staffed and released, zones, the fleet-wide pause, inventory imports; each committed before it
//! takes effect, after whatever the loop still owes the store (so the store takes writes in the
//! order they took effect).

use drover_core::coord::{Coordinator, Outbound};
use drover_store::{ContentsRecord, TaskSpec, TaskStatus, Write, ZoneRecord, ZoneSpec};
use tokio::sync::oneshot;

use super::{OpsLoop, task_event, zone_out};
use crate::error::ApiError;

/// What an operator can do to a robot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RobotOp {
    /// `startPause`.
    Pause,
    /// `stopPause`.
    Resume,
    /// Go to a charger once free.
    Charge,
    /// Take out of service (its task goes back to the queue).
    OutOfService,
    /// Back into service.
    InService,
    /// Clear an order refusal: driven again, with a new order from where it stands.
    Reset,
}

/// What an operator can do at a station.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StationOp {
    /// An associate takes the station.
    Staff(String),
    /// The associate leaves.
    Unstaff,
    /// The associate is done with the presented pod.
    Release,
}

type Reply = oneshot::Sender<Result<(), ApiError>>;

/// A request from the API to the loop.
#[derive(Debug)]
pub enum Command {
    /// A task already committed under `id`: hand it to the allocator.
    Submit {
        /// Store id.
        id: u64,
        /// The spec.
        spec: TaskSpec,
    },
    /// Cancel a task.
    Cancel {
        /// Store id.
        id: u64,
        /// Answer.
        reply: Reply,
    },
    /// A robot command.
    Robot {
        /// Serial number.
        serial: String,
        /// What.
        op: RobotOp,
        /// Answer.
        reply: Reply,
    },
    /// A station command.
    Station {
        /// Station name.
        name: String,
        /// What.
        op: StationOp,
        /// Answer.
        reply: Reply,
    },
    /// Create (or replace) a zone.
    PutZone {
        /// Zone id.
        id: u64,
        /// The zone.
        zone: ZoneSpec,
        /// Answer.
        reply: Reply,
    },
    /// Delete a zone.
    DeleteZone {
        /// Zone id.
        id: u64,
        /// Answer.
        reply: Reply,
    },
    /// Pause (`true`) or resume the whole fleet; survives a restart.
    Fleet {
        /// Paused.
        paused: bool,
        /// Answer.
        reply: Reply,
    },
    /// New contents for pods (an inventory import), checked against the floor's names.
    PutPods {
        /// The pods.
        pods: Vec<crate::pods::PodContents>,
        /// Answer.
        reply: Reply,
    },
}

/// The store's setting for a fleet-wide pause.
pub(super) const FLEET_PAUSED: &str = "fleet_paused";

impl OpsLoop {
    /// Runs one operator command; returns messages to publish (after the commit it needed).
    pub async fn handle(
        &mut self,
        coord: &mut Coordinator,
        command: Command,
    ) -> Vec<(u32, Outbound)> {
        let mut out = Vec::new();
        match command {
            Command::Submit { id, spec } => {
                if let Some(w) = self.submit(coord, id, &spec) {
                    // The refusal is in effect: owed until the store takes it.
                    self.owed.writes.push(w);
                    let _ = self.commit(coord, Vec::new()).await;
                }
                self.events
                    .push("task", &task_event(id, TaskStatus::Queued, None));
            }
            Command::Cancel { id, reply } => {
                let result = self.cancel(coord, id).await;
                let _ = reply.send(result);
            }
            Command::Robot { serial, op, reply } => {
                let result = match (0..coord.n_robots() as u32).find(|r| coord.serial(*r) == serial)
                {
                    None => Err(ApiError::not_found(format!("no robot {serial:?}"))),
                    Some(r) => match op {
                        RobotOp::Pause | RobotOp::Resume => {
                            match coord.pause(r, op == RobotOp::Pause) {
                                Ok(message) => {
                                    out.push((r, message));
                                    Ok(())
                                }
                                Err(e) => Err(ApiError::conflict(e.to_string())),
                            }
                        }
                        RobotOp::Charge => coord
                            .allocator()
                            .request_charge(r)
                            .map_err(|e| ApiError::conflict(e.to_string())),
                        RobotOp::OutOfService | RobotOp::InService => {
                            let (events, cancel) =
                                coord.set_out_of_service(r, op == RobotOp::OutOfService);
                            // Out of service: it stops at its next node (cancelOrder).
                            out.extend(cancel.map(|m| (r, m)));
                            tracing::info!(robot = %serial, ?op, requeued = events.len(), "operator");
                            Ok(())
                        }
                        RobotOp::Reset => {
                            if coord.reset(r) {
                                tracing::info!(robot = %serial, "operator reset: driven again");
                                Ok(())
                            } else {
                                Err(ApiError::conflict(format!(
                                    "robot {serial} refused no order; nothing to reset{}",
                                    coord
                                        .down_reason(r)
                                        .map(|w| format!(
                                            " (it is down: {w}; the robot clears that)"
                                        ))
                                        .unwrap_or_default()
                                )))
                            }
                        }
                    },
                };
                let _ = reply.send(result);
            }
            Command::Station { name, op, reply } => {
                let result = self.station(coord, &name, op).await;
                let _ = reply.send(result);
            }
            Command::PutZone { id, zone, reply } => {
                let write = Write::PutZone {
                    id,
                    zone: ZoneRecord::V2(zone.clone()),
                };
                let result = match self.commit(coord, vec![write]).await {
                    Ok(_) => {
                        let z = zone_out(id, &zone);
                        self.zones.retain(|z| z.id != id);
                        self.zones.push(z.clone());
                        out.extend(coord.set_zones(&self.zone_areas()));
                        self.events.push("zone", &z);
                        Ok(())
                    }
                    Err(e) => Err(ApiError::unavailable(e.to_string())),
                };
                let _ = reply.send(result);
            }
            Command::Fleet { paused, reply } => {
                let write = Write::Setting {
                    key: FLEET_PAUSED.to_string(),
                    value: paused.to_string(),
                };
                let result = match self.commit(coord, vec![write]).await {
                    Ok(_) => {
                        // The operator's pause only: a resume leaves the store's pause on.
                        self.operator_paused = paused;
                        out.extend(self.sync_fleet_pause(coord));
                        tracing::info!(
                            paused,
                            store_paused = self.failing.is_some(),
                            "operator: fleet pause"
                        );
                        Ok(())
                    }
                    Err(e) => Err(ApiError::unavailable(e.to_string())),
                };
                let _ = reply.send(result);
            }
            Command::PutPods { pods, reply } => {
                let result = self.put_pods(coord, pods).await;
                let _ = reply.send(result);
            }
            Command::DeleteZone { id, reply } => {
                let result = if !self.zones.iter().any(|z| z.id == id) {
                    Err(ApiError::not_found(format!("no zone {id}")))
                } else {
                    match self.commit(coord, vec![Write::DeleteZone { id }]).await {
                        Ok(_) => {
                            self.zones.retain(|z| z.id != id);
                            out.extend(coord.set_zones(&self.zone_areas()));
                            self.events
                                .push("zone", &serde_json::json!({ "id": id, "deleted": true }));
                            Ok(())
                        }
                        Err(e) => Err(ApiError::unavailable(e.to_string())),
                    }
                };
                let _ = reply.send(result);
            }
        }
        // The store's pause or resume, when a commit above failed or settled what was owed.
        out.extend(std::mem::take(&mut self.outbox));
        out
    }

    async fn cancel(&mut self, coord: &mut Coordinator, id: u64) -> Result<(), ApiError> {
        let Some(&(tid, ..)) = self.open.get(&id) else {
            return match self.committer.store().task(id) {
                Ok(Some(t)) => Err(ApiError::conflict(format!(
                    "task {id} is already {}",
                    t.status.name()
                ))),
                Ok(None) => Err(ApiError::not_found(format!("no task {id}"))),
                Err(e) => Err(ApiError::unavailable(e.to_string())),
            };
        };
        coord
            .allocator()
            .cancel(tid)
            .map_err(|e| ApiError::conflict(e.to_string()))?;
        self.commit_moves(coord).await
    }

    async fn station(
        &mut self,
        coord: &mut Coordinator,
        name: &str,
        op: StationOp,
    ) -> Result<(), ApiError> {
        let Some(&s) = self.stations.get(name) else {
            return Err(ApiError::not_found(format!("no station {name:?}")));
        };
        match op {
            StationOp::Staff(associate) => {
                self.commit_staff(coord, name, Some(associate.clone()))
                    .await?;
                coord.allocator().staff(s, &associate);
            }
            StationOp::Unstaff => {
                self.commit_staff(coord, name, None).await?;
                coord.allocator().unstaff(s);
            }
            StationOp::Release => {
                let tick = coord.now();
                coord
                    .allocator()
                    .release(s, tick)
                    .map_err(|e| ApiError::conflict(e.to_string()))?;
                // The done transitions are durable before the associate's "done" is answered.
                self.commit_moves(coord).await?;
            }
        }
        Ok(())
    }

    async fn commit_staff(
        &mut self,
        coord: &mut Coordinator,
        name: &str,
        associate: Option<String>,
    ) -> Result<(), ApiError> {
        let write = Write::Staff {
            station: name.to_string(),
            associate,
        };
        self.commit(coord, vec![write])
            .await
            .map(|_| ())
            .map_err(|e| ApiError::unavailable(e.to_string()))
    }

    /// An inventory import: every pod must stand in its slot with no visit pending; then the
    /// new contents are stored, and only then given to the allocator (all or nothing).
    async fn put_pods(
        &mut self,
        coord: &mut Coordinator,
        pods: Vec<crate::pods::PodContents>,
    ) -> Result<(), ApiError> {
        let mut writes = Vec::new();
        let mut ids = Vec::new();
        for p in &pods {
            let Some(&id) = self.pods.get(&p.pod) else {
                return Err(ApiError::unprocessable(format!(
                    "no pod {:?} on this floor",
                    p.pod
                )));
            };
            let alloc = coord.alloc();
            alloc
                .may_import(id)
                .map_err(|e| ApiError::conflict(e.to_string()))?;
            let drover_alloc::PodLoc::Slot(slot) = alloc.pod_loc(id) else {
                return Err(ApiError::conflict(format!(
                    "pod {} is not in a slot",
                    p.pod
                )));
            };
            ids.push(id);
            writes.push(Write::PutPod {
                name: p.pod.clone(),
                slot: slot.0,
                contents: ContentsRecord::V1(p.contents.clone().into_iter().collect()),
            });
        }
        // Durable first: a crash after this point replays the import from the store.
        self.commit(coord, writes)
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        let mut skus = self.names.skus.write().unwrap_or_else(|e| e.into_inner());
        for (p, id) in pods.iter().zip(ids) {
            let contents: Vec<(String, u32)> = p.contents.clone().into_iter().collect();
            // Checked above, in this same turn of the loop: nothing moved the pod since.
            coord
                .allocator()
                .set_pod_contents(id, &contents)
                .map_err(|e| ApiError::conflict(e.to_string()))?;
            skus.extend(p.contents.keys().cloned());
        }
        tracing::info!(pods = pods.len(), "operator: pod contents imported");
        Ok(())
    }
}
