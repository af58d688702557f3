//! The seeds' echo module, used by both `echo_server` and `echo_client`: `Ping` and `Pong`, the
//! `EchoServer` that may run only where the capability `Server` is set, and the `EchoRequestor`
//! that may run only where `Client` is.

use std::time::Instant;

use thespian::prelude::*;

/// A simple message that carries a payload.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "echo::Ping")]
pub struct Ping {
    pub payload: String,
}

/// The same as `Ping`, told apart by its type.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "echo::Pong")]
pub struct Pong {
    pub payload: String,
}

/// What the requestor tells the one who started it when every pong is back.
#[derive(Debug, Clone, Serialize, Deserialize, Message)]
#[message(name = "echo::EchoDone")]
pub struct EchoDone {
    /// How long the pings took, as the original prints a `timedelta`: `0:00:03.716326`.
    pub timedelta: String,
}

/// Receives pings and pongs them back to their sender. Runs only on a system with the
/// capability `Server`, so the convention places it on the server.
#[derive(Default)]
pub struct EchoServer;

#[actor(name = "echo::EchoServer", require_capability = "Server")]
impl EchoServer {
    #[handler]
    fn ping(&mut self, ping: Ping, cx: &mut Context<'_>) {
        tracing::debug!(payload = %ping.payload, sender = %cx.sender(), "got a ping, ponging back");
        cx.send(&cx.sender(), Pong { payload: ping.payload });
    }
}

/// Issues pings. Runs only on a system with the capability `Client`.
#[derive(Default)]
pub struct EchoRequestor {
    pings_to_send: u64,
    pongs_to_receive: u64,
    started: Option<Instant>,
    client: Option<ActorAddress>,
    echo_server: Option<ActorAddress>,
}

#[actor(name = "echo::EchoRequestor", require_capability = "Client")]
impl EchoRequestor {
    /// A count of pings to send.
    #[handler]
    fn count(&mut self, count: u64) {
        self.pings_to_send += count;
    }

    /// A payload: start pinging.
    #[handler]
    fn payload(&mut self, payload: String, cx: &mut Context<'_>) {
        self.client = Some(cx.sender());
        // The echo server needs `Server`: it is created on the system that has it.
        let server = cx.create_actor::<EchoServer>().into_address();
        tracing::debug!(server = %server, count = self.pings_to_send, "sending");
        self.started = Some(Instant::now());
        for _ in 0..self.pings_to_send {
            cx.send(&server, Ping { payload: payload.clone() });
        }
        self.echo_server = Some(server);
        self.pongs_to_receive += self.pings_to_send;
        self.pings_to_send = 0;
    }

    #[handler]
    fn pong(&mut self, _pong: Pong, cx: &mut Context<'_>) {
        self.pongs_to_receive -= 1;
        if self.pongs_to_receive == 0 {
            let timedelta = timedelta(self.started.map(|t| t.elapsed()).unwrap_or_default());
            tracing::info!("Got all messages, timedelta: {timedelta}");
            if let Some(client) = self.client.take() {
                tracing::info!("Sending end request to {client}");
                cx.send(&client, EchoDone { timedelta });
            }
        }
    }
}

/// A duration as Python prints a `timedelta`: `H:MM:SS.ffffff`.
pub fn timedelta(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    format!("{}:{:02}:{:02}.{:06}", secs / 3600, secs / 60 % 60, secs % 60, d.subsec_micros())
}
