//! The log subscriber droverd installs: a tracing filter from `DROVERD_LOG` (else the config's
//! `log.level`), pretty or JSON lines on stderr, minus the embedded broker's known-benign
//! ERROR lines and its ERROR for each refused login (drover_gateway logs those, throttled).

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogConfig;

/// Installs the subscriber for the whole process.
pub fn init(config: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DROVERD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.format == "json" {
        builder.json().finish().with(QuietBroker).init();
    } else {
        builder.finish().with(QuietBroker).init();
    }
}

/// Drops rumqttd's `router-drop` events, which it logs at ERROR whenever a client sends a
/// clean MQTT DISCONNECT (every simulated unit and droverd itself at shutdown, a robot going
/// off shift). rumqttd 0.20 logs them from the connection's side after its router has closed
/// the link; when the router closes it for a real fault (a bad publish, a full commit log, a
/// session taken over) the router logs that cause itself, under `rumqttd::router`, which this
/// keeps. Also drops rumqttd's ERROR for each login it refuses: the gateway's login check
/// logs those itself, at most one line per 10 s, so a flood of bad logins is not a flood of
/// log lines. Everything else rumqttd logs passes through the level filter as before.
#[derive(Clone, Copy, Debug)]
pub struct QuietBroker;

/// Where rumqttd logs what happens to one client connection.
const BROKER_LINK_TARGET: &str = "rumqttd::server::broker";
/// The message of a link the router closed.
const ROUTER_DROP: &str = "router-drop";
/// The message of a connection refused before its CONNECT was accepted, and the `error` of a
/// refused login.
const CONNECT_ERROR: (&str, &str) = ("Error while handling MQTT connect packet", "InvalidAuth");

impl<S: Subscriber> Layer<S> for QuietBroker {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        if event.metadata().target() != BROKER_LINK_TARGET {
            return true;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        !(fields.message == ROUTER_DROP
            || (fields.message == CONNECT_ERROR.0 && fields.error == CONNECT_ERROR.1))
    }
}

/// An event's `message` and `error` fields.
#[derive(Default)]
struct Fields {
    message: String,
    error: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `error!("router-drop")` records its message as `format_args!`, a Debug value, and
        // `error = ?e` the error's Debug.
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "error" => self.error = format!("{value:?}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Collects the messages of the events that reach it.
    #[derive(Clone, Default)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Seen {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            struct Text(String);
            impl Visit for Text {
                fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut text = Text(String::new());
            event.record(&mut text);
            self.0.lock().unwrap().push(text.0);
        }
    }

    /// rumqttd's connection error, as far as its Debug goes.
    #[derive(Debug)]
    enum Refused {
        InvalidAuth,
    }

    #[test]
    fn a_clean_disconnect_and_a_refused_login_are_quiet_and_other_broker_errors_are_kept() {
        let seen = Seen::default();
        let subscriber = tracing_subscriber::registry()
            .with(seen.clone())
            .with(QuietBroker);
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "rumqttd::server::broker", error = "Recv(Disconnected)", "router-drop");
            tracing::error!(target: "rumqttd::server::broker", "Error while handling MQTT connect packet");
            tracing::error!(target: "rumqttd::server::broker", error = ?Refused::InvalidAuth, "Error while handling MQTT connect packet");
            tracing::error!(target: "rumqttd::router::routing", "Failed to append to commitlog");
            tracing::error!(target: "droverd", "router-drop");
        });
        assert_eq!(
            *seen.0.lock().unwrap(),
            [
                "Error while handling MQTT connect packet",
                "Failed to append to commitlog",
                "router-drop",
            ]
        );
    }
}
