//! The embedded MQTT broker (rumqttd), so `droverd demo` and the tests need nothing else.
//!
//! rumqttd cannot bind port 0, never reports its port, has no shutdown and only logs a bind
//! failure: the caller reserves a port ([`free_port`]), and [`start_embedded_broker`] probes
//! it until it answers an MQTT CONNECT.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts rumqttd on `listen` in a background thread (it lives until the process exits)
/// and waits until it accepts connections. `max_connections` bounds clients.
pub fn start_embedded_broker(listen: SocketAddr, max_connections: usize) -> anyhow::Result<()> {
    if TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_ok() {
        anyhow::bail!("port {listen} is already in use: cannot start the embedded broker there");
    }
    let server = ServerSettings {
        name: "v4".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 0,
        connections: ConnectionSettings {
            connection_timeout_ms: 5_000,
            max_payload_size: 1 << 20,
            max_inflight_count: 500,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = Config {
        id: 0,
        v4: Some(HashMap::from([("1".to_string(), server)])),
        router: RouterConfig {
            max_connections: max_connections + 10,
            max_outgoing_packet_count: 2000,
            max_segment_size: 100 << 20,
            max_segment_count: 10,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if mqtt_answers(listen) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    anyhow::bail!("the embedded MQTT broker did not start listening on {listen} within 5 s")
}

/// Whether an MQTT broker on `listen` accepts a CONNECT (it answers a CONNACK with return code
/// 0). The probe is a proper MQTT 3.1.1 session, so the broker logs nothing alarming: a bare
/// TCP connect makes rumqttd log "Error while handling MQTT connect packet", and a DISCONNECT
/// makes it log "router-drop", both at ERROR. Closing the socket after the CONNACK is an
/// ordinary client going away, which rumqttd logs at INFO.
fn mqtt_answers(listen: SocketAddr) -> bool {
    const CLIENT_ID: &[u8] = b"drover-broker-probe";
    let timeout = Duration::from_millis(200);
    let Ok(mut stream) = TcpStream::connect_timeout(&listen, timeout) else {
        return false;
    };
    // CONNECT: protocol "MQTT" level 4, clean session, keep-alive 10 s, the client id.
    let mut connect = vec![0x10, (12 + CLIENT_ID.len()) as u8];
    connect.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 10, 0]);
    connect.push(CLIENT_ID.len() as u8);
    connect.extend_from_slice(CLIENT_ID);
    let mut connack = [0u8; 4];
    stream.set_read_timeout(Some(timeout)).is_ok()
        && stream.set_write_timeout(Some(timeout)).is_ok()
        && stream.write_all(&connect).is_ok()
        && stream.read_exact(&mut connack).is_ok()
        && connack == [0x20, 2, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readiness_probe_wants_a_connack_not_just_a_listening_socket() {
        let silent = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(!mqtt_answers(silent.local_addr().unwrap()));
        let listen: SocketAddr = format!("127.0.0.1:{}", free_port().unwrap())
            .parse()
            .unwrap();
        start_embedded_broker(listen, 1).unwrap();
        assert!(mqtt_answers(listen));
    }
}
