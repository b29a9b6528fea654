//! Virtual drive units over MQTT: each unit is its own rumqttc client speaking VDA 5050 2.1
//! (last will, retained ONLINE and factsheet, state on events and every `state_every_ms`),
//! with seeded fault injection (stops, lost messages) and the shared [`World`] collision
//! detector. Many units run in one process on one tokio runtime.
//!
//! This is the robot side, written against the broker directly (not through
//! drover-gateway), so the coordinator is tested against an independent peer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use drover_plan::SplitMix64;
use drover_vda5050::{ConnectionState, InstantActions, Order, Topic, TopicPath};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::fleet::{Faults, World};
use crate::unit::DriveUnit;

/// How the units connect and behave.
#[derive(Clone, Debug)]
pub struct UnitFleetConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Each unit's password, by serial number (its user name); a unit without one connects
    /// without a login.
    pub passwords: UnitPasswords,
    /// VDA interface name (first topic level).
    pub interface: String,
    /// Milliseconds between unit steps.
    pub step_ms: u64,
    /// A state at least this often even without events (the spec wants ≤ 30 s).
    pub state_every_ms: u64,
    /// MQTT keep-alive.
    pub keep_alive: Duration,
    /// How long a unit waits for the broker's CONNACK, and for a write, before it drops the
    /// connection and reconnects (rumqttc's default is 5 s, which a broker busy with
    /// thousands of connecting units misses: the reconnect then kicks the first connection
    /// and fires its will).
    pub network_timeout: Duration,
    /// Units that stand on the floor from the start but connect only after a delay (a robot
    /// switched on after the coordinator started): (unit index, delay).
    pub late: Vec<(usize, Duration)>,
    /// Faults.
    pub faults: Faults,
}

/// MQTT passwords by serial number. `Debug` shows the serial numbers only.
#[derive(Clone, Default)]
pub struct UnitPasswords(pub std::collections::HashMap<String, String>);

impl std::fmt::Debug for UnitPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut serials: Vec<&String> = self.0.keys().collect();
        serials.sort();
        f.debug_tuple("UnitPasswords").field(&serials).finish()
    }
}

/// Counters shared by all units.
#[derive(Debug, Default)]
pub struct UnitStats {
    /// One-way command latency (order or instant action timestamp to receipt): (ms since the
    /// fleet started, latency ms).
    pub latencies_ms: Mutex<Vec<(u64, u64)>>,
    /// Messages lost by fault injection.
    pub dropped: AtomicU64,
    /// States published.
    pub states: AtomicU64,
    /// Commands received.
    pub commands: AtomicU64,
    /// Commands that failed to parse (never expected).
    pub malformed: AtomicU64,
    /// Connects after the first, over all units.
    pub reconnects: AtomicU64,
}

/// A running fleet of MQTT units.
pub struct UnitFleet {
    /// The physical floor: collisions.
    pub world: Arc<Mutex<World>>,
    /// Counters.
    pub stats: Arc<UnitStats>,
    stop: Arc<AtomicBool>,
    kill: Vec<Arc<AtomicBool>>,
    tasks: Vec<JoinHandle<()>>,
}

impl UnitFleet {
    /// Starts one task and one MQTT connection per unit. Call inside a tokio runtime.
    pub fn start(units: Vec<DriveUnit>, mut world: World, config: &UnitFleetConfig) -> UnitFleet {
        for &(k, _) in &config.late {
            world.set_unheard(k as u32, true);
        }
        let world = Arc::new(Mutex::new(world));
        let stats = Arc::new(UnitStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut kill = Vec::new();
        let epoch = epoch_ms();
        let start = Instant::now();
        let tasks = units
            .into_iter()
            .enumerate()
            .map(|(k, unit)| {
                let dead = Arc::new(AtomicBool::new(false));
                kill.push(dead.clone());
                let ctx = UnitCtx {
                    index: k as u32,
                    config: config.clone(),
                    world: world.clone(),
                    stats: stats.clone(),
                    stop: stop.clone(),
                    dead,
                    epoch,
                    start,
                };
                tokio::spawn(run_unit(unit, ctx))
            })
            .collect();
        UnitFleet {
            world,
            stats,
            stop,
            kill,
            tasks,
        }
    }

    /// Unit `k` dies: it stops driving and reporting and drops its connection without a
    /// DISCONNECT (the broker sends its last will). Its cells stay occupied.
    pub fn kill(&self, k: usize) {
        self.kill[k].store(true, Ordering::Relaxed);
    }

    /// Physical collisions so far.
    pub fn collisions(&self) -> usize {
        self.world.lock().expect("world lock").collisions.len()
    }

    /// Stops every unit: OFFLINE, then DISCONNECT.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

struct UnitCtx {
    index: u32,
    config: UnitFleetConfig,
    world: Arc<Mutex<World>>,
    stats: Arc<UnitStats>,
    stop: Arc<AtomicBool>,
    dead: Arc<AtomicBool>,
    epoch: i64,
    start: Instant,
}

/// Wall-clock milliseconds since the Unix epoch (VDA timestamps).
pub fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn run_unit(mut unit: DriveUnit, ctx: UnitCtx) {
    let cfg = &ctx.config;
    if let Some(&(_, delay)) = cfg.late.iter().find(|l| l.0 == ctx.index as usize) {
        // Unheard since `UnitFleet::start`.
        tokio::time::sleep(delay).await;
        ctx.world
            .lock()
            .expect("world lock")
            .set_unheard(ctx.index, false);
    }
    let serial = unit.serial().to_string();
    let manufacturer = unit.manufacturer().to_string();
    let path = |topic: Topic| {
        TopicPath {
            interface: cfg.interface.clone(),
            manufacturer: manufacturer.clone(),
            serial: serial.clone(),
            topic,
        }
        .to_string()
    };
    let now_ms = || ctx.start.elapsed().as_millis() as u64;
    let mut options = MqttOptions::new(format!("unit-{serial}"), &cfg.host, cfg.port);
    options.set_keep_alive(cfg.keep_alive);
    options.set_max_packet_size(1 << 20, 1 << 20);
    if let Some(password) = cfg.passwords.0.get(&serial) {
        options.set_credentials(&serial, password);
    }
    let will = unit.connection(ConnectionState::Connectionbroken, now_ms(), ctx.epoch);
    options.set_last_will(LastWill::new(
        path(Topic::Connection),
        serde_json::to_vec(&will).expect("connection serialises"),
        QoS::AtLeastOnce,
        true,
    ));
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_connection_timeout(cfg.network_timeout.as_secs().max(1));
    eventloop.set_network_options(network);
    // rumqttc's poll is not cancel-safe while connecting: poll in a task of its own and
    // forward what arrives, so the unit's select loop only waits on a channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Option<rumqttc::Publish>>(256);
    let poller = {
        let stats = ctx.stats.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        backoff = Duration::from_millis(100);
                        if tx.send(None).await.is_err() {
                            return;
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.try_send(Some(p)).is_err() {
                            stats.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => {
                        if tx.is_closed() {
                            return;
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                    }
                }
            }
        })
    };
    let mut rng = SplitMix64(ctx.config.faults.seed ^ (u64::from(ctx.index) << 32 | 0x5EED));
    let mut ticker = tokio::time::interval(Duration::from_millis(cfg.step_ms));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_state = 0u64;
    let mut connected_once = false;
    let order_topic = path(Topic::Order);
    let instant_topic = path(Topic::InstantActions);
    loop {
        if ctx.dead.load(Ordering::Relaxed) {
            // Closing the socket without DISCONNECT: the broker sends the last will.
            poller.abort();
            return;
        }
        if ctx.stop.load(Ordering::Relaxed) {
            let offline = unit.connection(ConnectionState::Offline, now_ms(), ctx.epoch);
            let _ = client.try_publish(
                path(Topic::Connection),
                QoS::AtLeastOnce,
                true,
                serde_json::to_vec(&offline).expect("connection serialises"),
            );
            let _ = client.try_disconnect();
            // Let the poller flush OFFLINE and DISCONNECT.
            tokio::time::sleep(Duration::from_millis(300)).await;
            poller.abort();
            return;
        }
        tokio::select! {
            incoming = rx.recv() => match incoming {
                None => return,
                Some(None) => {
                    if connected_once {
                        ctx.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    connected_once = true;
                    let _ = client.try_subscribe(order_topic.clone(), QoS::AtMostOnce);
                    let _ = client.try_subscribe(instant_topic.clone(), QoS::AtMostOnce);
                    let online = unit.connection(ConnectionState::Online, now_ms(), ctx.epoch);
                    let _ = client.try_publish(path(Topic::Connection), QoS::AtLeastOnce, true,
                        serde_json::to_vec(&online).expect("connection serialises"));
                    let sheet = unit.factsheet(now_ms(), ctx.epoch);
                    let _ = client.try_publish(path(Topic::Factsheet), QoS::AtMostOnce, true,
                        serde_json::to_vec(&sheet).expect("factsheet serialises"));
                    last_state = 0; // report at once
                }
                Some(Some(p)) => {
                    if rng.next_f64() < cfg.faults.drop_prob {
                        ctx.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    ctx.stats.commands.fetch_add(1, Ordering::Relaxed);
                    let received = ctx.epoch + now_ms() as i64;
                    if p.topic == order_topic {
                        match serde_json::from_slice::<Order>(&p.payload) {
                            Ok(order) => {
                                record_latency(&ctx.stats, now_ms(), received - order.timestamp.0);
                                unit.on_order(order, now_ms());
                            }
                            Err(_) => { ctx.stats.malformed.fetch_add(1, Ordering::Relaxed); }
                        }
                    } else if p.topic == instant_topic {
                        match serde_json::from_slice::<InstantActions>(&p.payload) {
                            Ok(actions) => {
                                record_latency(&ctx.stats, now_ms(), received - actions.timestamp.0);
                                unit.on_instant(actions, now_ms());
                            }
                            Err(_) => { ctx.stats.malformed.fetch_add(1, Ordering::Relaxed); }
                        }
                    }
                }
            },
            _ = ticker.tick() => {
                if !connected_once {
                    continue;
                }
                let now = now_ms();
                unit.advance(now);
                ctx.world.lock().expect("world lock").update(ctx.index, unit.occupied());
                let dirty = unit.take_dirty();
                if dirty && cfg.faults.delay_prob > 0.0 && rng.next_f64() < cfg.faults.delay_prob {
                    let (lo, hi) = cfg.faults.delay_ms;
                    unit.stop_until(now + rng.range(lo, hi));
                }
                if dirty || now >= last_state + cfg.state_every_ms {
                    last_state = now;
                    let state = unit.state(now, ctx.epoch);
                    if rng.next_f64() < cfg.faults.drop_prob {
                        ctx.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let payload = serde_json::to_vec(&state).expect("state serialises");
                    if client.try_publish(path(Topic::State), QoS::AtMostOnce, false, payload).is_ok() {
                        ctx.stats.states.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

fn record_latency(stats: &UnitStats, at: u64, ms: i64) {
    stats
        .latencies_ms
        .lock()
        .expect("latency lock")
        .push((at, ms.max(0) as u64));
}
