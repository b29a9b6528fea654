//! The embedded broker with logins, started from droverd's `[broker]` as `droverd run` and
//! `droverd demo` start it: a mosquitto password file and droverd's own login, a TLS listener,
//! and a demo run whose units log in with the logins made up for them.

use std::time::Duration;

use drover_gateway::test_certs::TestCerts;
use drover_gateway::{
    BrokerAddr, ClientTls, Secret, fleet_subscriptions, free_port, password_file_line,
};
use drover_sim::fleet::Faults;

use crate::mosquitto_secure::{connect, filters, received_until};
use crate::wire::{check, options, run_with_deadline};

/// config/droverd.toml's `[broker]` with the embedded broker on a free port and `extra` keys.
fn broker_config(extra: &str) -> droverd::config::BrokerConfig {
    let text = std::fs::read_to_string(crate::workspace_dir().join("config/droverd.toml")).unwrap();
    let listen = format!("listen = \"127.0.0.1:{}\"\n{extra}", free_port().unwrap());
    let text = text.replacen("listen = \"127.0.0.1:1883\"", &listen, 1);
    droverd::config::Config::parse(&text).unwrap().broker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_takes_a_password_file_and_a_tls_listener() {
    let dir = std::env::temp_dir().join(format!("drover-wire-secure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certs = TestCerts::generate(&dir).unwrap();
    let passwd = dir.join("passwd");
    std::fs::write(
        &passwd,
        password_file_line("du-0001", &Secret::new("unit-pw")) + "\n",
    )
    .unwrap();
    let config = broker_config(&format!(
        "password_file = {passwd:?}\ntls_listen = \"127.0.0.1:0\"\ntls_cert = {:?}\ntls_key = {:?}",
        certs.server_cert, certs.server_key
    ));
    let broker = droverd::broker::start_embedded(&config, 100, false).unwrap();
    let tls = broker.tls.expect("a TLS listener").port();
    // droverd gets in with the login it made up; nobody gets in without one.
    let (droverd, mut fleet) = connect(&broker.addr, "droverd", fleet_subscriptions("uagv"))
        .await
        .unwrap();
    let plain = BrokerAddr::local(broker.addr.port);
    let why = connect(&plain, "anonymous", Vec::new())
        .await
        .err()
        .expect("refused");
    assert!(
        why.contains("closed the connection before accepting it"),
        "{why}"
    );
    // A robot of the password file, over TLS.
    let robot = |password: &str| {
        let mut a = BrokerAddr::parse(&format!("mqtts://127.0.0.1:{tls}")).unwrap();
        a.tls = Some(ClientTls::from_pem(Some(&std::fs::read(&certs.ca).unwrap()), None).unwrap());
        a.with_login("du-0001", Secret::new(password))
    };
    let why = connect(&robot("bad-pw-4e2"), "du-0001", Vec::new())
        .await
        .err()
        .expect("refused");
    assert!(!why.contains("bad-pw-4e2"), "{why}");
    let order = "uagv/v2/drover-sim/du-0001/order";
    let (unit, mut unit_rx) = connect(&robot("unit-pw"), "du-0001", filters(&[order]))
        .await
        .unwrap();
    unit.publish(
        "uagv/v2/drover-sim/du-0001/state",
        1,
        false,
        b"state".to_vec(),
    )
    .unwrap();
    received_until(&mut fleet, b"state").await;
    droverd.publish(order, 1, false, b"order".to_vec()).unwrap();
    received_until(&mut unit_rx, b"order").await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_units_log_in_with_the_logins_made_up_for_them() {
    // As `droverd demo` starts it: logins required, none from a file.
    let broker = droverd::broker::start_embedded(&broker_config(""), 100, true).unwrap();
    let users = broker.users.clone().expect("logins required");
    let mut o = options(broker.addr.clone(), 10, 20, Faults::none());
    o.unit_logins = Some(users.clone());
    let report = run_with_deadline(o, Duration::from_secs(120)).await;
    check(&report, 20);
    assert_eq!(
        users.len(),
        11,
        "droverd's login and one per unit: {users:?}"
    );
    assert_eq!(report.unit_reconnects, 0, "{report:#?}");
}
