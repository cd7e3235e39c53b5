//! A call actor's part in a bridge (`call::bridge`): accepting a bridge
//! end, greeting the peer with our negotiated media, then moving
//! datagrams both ways until either call ends.

use super::{Actor, now, seed};
use crate::call::bridge::{Bridge, BridgeEnd, BridgeMsg};
use crate::media::relay::{Leg, Relay};
use crate::metrics as m;
use tracing::info;

impl Actor {
    /// `CallCommand::Bridge`: only an answered call with media, once.
    pub(super) fn accept_bridge(&mut self, end: BridgeEnd) -> Result<(), &'static str> {
        if self.bridge.is_some() {
            return Err("the call is already bridged");
        }
        let Some(n) = self.negotiated.clone() else { return Err("the call is not answered") };
        if self.machine.is_ended() || self.machine.answered_at().is_none() {
            return Err("the call is not answered");
        }
        end.tx.try_send(BridgeMsg::Hello(n)).map_err(|_| "the other call has ended")?;
        self.bridge = Some(Bridge { end, relay: None, forwarded: 0, overflow: 0 });
        Ok(())
    }

    /// A message from the peer; `None`: the peer's end closed.
    pub(super) async fn on_bridge_msg(&mut self, msg: Option<BridgeMsg>) {
        let Some(b) = self.bridge.as_mut() else { return };
        match msg {
            Some(BridgeMsg::Hello(peer)) => {
                let (Some(own), true) = (self.negotiated.clone(), self.machine.bridge()) else {
                    self.bridge = None;
                    return;
                };
                // The bridge owns our audio now: no prompts, no idle frames.
                self.media = None;
                let relay = Relay::new(&peer, &own, seed(), seed());
                info!(call = %self.id, with = %b.end.peer, transcoding = relay.transcodes(), "bridged");
                b.relay = Some(relay);
                self.show_bridge();
            }
            Some(BridgeMsg::Rtp(d, read_at)) => {
                let Some(relay) = b.relay.as_mut() else { return };
                relay.handle_rtp(Leg::A, now(), &d);
                while let Some((_, t)) = relay.poll_transmit() {
                    if let Some(sock) = self.rtp.as_ref() {
                        // UDP: a failed send is a lost packet.
                        let _ = sock.send_to(&t.packet, t.dest).await;
                        m::bridge_relay(now().saturating_duration_since(read_at));
                    }
                }
                if relay.stats(Leg::A).relayed % 50 == 1 {
                    self.show_bridge();
                }
            }
            None => {
                let joined = b.relay.is_some();
                self.show_bridge();
                self.bridge = None;
                if joined {
                    // Either leg hanging up ends the other.
                    info!(call = %self.id, "the bridged call ended; hanging up");
                    self.machine.bridged_call_ended(now());
                }
            }
        }
    }

    /// A datagram from our far end while bridged: to the peer.
    pub(super) fn forward_rtp(&mut self, d: &[u8]) {
        let Some(b) = self.bridge.as_mut().filter(|b| b.relay.is_some()) else { return };
        match b.end.tx.try_send(BridgeMsg::Rtp(d.to_vec(), now())) {
            Ok(()) => b.forwarded += 1,
            Err(_) => b.overflow += 1,
        }
    }

    pub(super) fn bridged(&self) -> bool {
        self.bridge.as_ref().is_some_and(|b| b.relay.is_some())
    }

    pub(super) fn show_bridge(&self) {
        if let Some(b) = self.bridge.as_ref() {
            let v = b.view();
            self.view.send_modify(|view| view.bridge = Some(v));
        }
    }
}

pub(super) async fn recv_bridge(b: &mut Option<Bridge>) -> Option<BridgeMsg> {
    match b {
        Some(b) => b.end.rx.recv().await,
        None => std::future::pending().await,
    }
}
