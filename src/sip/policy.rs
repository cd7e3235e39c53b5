//! What dialerd answers to requests that open no dialog of ours. One table
//! for the router (messages rsipstack parsed) and the stateless fallback
//! (valid messages rsipstack's parser refuses, see `wire.rs`).

/// Methods named in our Allow header.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE";

/// The final response for an out-of-dialog request, with the metric reason
/// (`None` for OPTIONS 200), or `None` when nothing is sent (ACK, CANCEL is
/// handled by the transaction layer).
pub fn answer(method: &str, in_dialog: bool, from_trunk: bool) -> Option<(u16, Option<&'static str>)> {
    match method {
        // §17.1.1.3: ACK is never answered.
        "ACK" => None,
        // §12.2.2: a request for a dialog we do not have.
        _ if in_dialog => Some((481, Some("unknown_dialog"))),
        "OPTIONS" => Some((200, None)),
        "INVITE" if !from_trunk => Some((403, Some("not_a_trunk"))),
        "INVITE" => Some((480, Some("no_inbound_route"))),
        "BYE" | "CANCEL" => Some((481, Some("unknown_dialog"))),
        _ => Some((405, Some("method_not_allowed"))),
    }
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn table() {
        assert_eq!(answer("ACK", true, true), None);
        assert_eq!(answer("INVITE", false, false), Some((403, Some("not_a_trunk"))));
        assert_eq!(answer("INVITE", false, true), Some((480, Some("no_inbound_route"))));
        assert_eq!(answer("INVITE", true, true), Some((481, Some("unknown_dialog"))));
        assert_eq!(answer("OPTIONS", false, false), Some((200, None)));
        assert_eq!(answer("REGISTER", false, true), Some((405, Some("method_not_allowed"))));
        assert_eq!(answer("BYE", false, true), Some((481, Some("unknown_dialog"))));
    }
}
