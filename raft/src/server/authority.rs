//! Who may do what on a node: the admin gate in front of the driver, which lets membership and
//! leadership requests through only with the node's authority and never below its voter floor
//! unless forced, and the settings behind it and the peer secret ([`SecurityConfig`]).
//!
//! Authority, by configuration (see `docs/security.md`):
//! * with an admin token (`raft-kv serve --admin-token-file`), an admin request must carry the
//!   same token (compared in constant time, as SHA-256 digests), from any address;
//! * without one, admin requests are taken only when the client port listens on a loopback
//!   address, so that only processes on the node's own host can send them; a node whose client
//!   port listens on any other address takes none until it is given a token.
//!
//! The voter floor (`--min-voters`, default [`DEFAULT_MIN_VOTERS`]) is checked on the leader, the
//! node that proposes the change, against the configuration in effect: removing a voter that would
//! leave fewer voters is refused unless the request says `force`. Refusals are definite
//! `ClientResponse::Error`s: nothing was proposed.

use std::net::SocketAddr;
use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::core::{Role, Status};
use crate::kv::{AdminRequest, ClientRequest, ClientResponse, PresentedToken};
use crate::net::{read_secret_file, PeerSecret, SecretFileError};

/// Default of `--min-voters`: with fewer than three voters a cluster survives no failure.
pub const DEFAULT_MIN_VOTERS: usize = 3;

/// The node's authority settings.
#[derive(Clone, Debug)]
pub struct SecurityConfig {
    /// Admin requests must carry this token. `None`: admin requests only on a loopback client port.
    pub admin_token: Option<AdminToken>,
    /// Fewest voters a membership change may leave, unless forced.
    pub min_voters: usize,
    /// Peers must prove this secret in the handshake. `None`: any peer of the cluster id is taken.
    pub peer_secret: Option<PeerSecret>,
}

impl Default for SecurityConfig {
    fn default() -> SecurityConfig {
        SecurityConfig {
            admin_token: None,
            min_voters: DEFAULT_MIN_VOTERS,
            peer_secret: None,
        }
    }
}

/// The admin token, kept as its SHA-256 digest; never shown by `Debug`.
#[derive(Clone)]
pub struct AdminToken([u8; 32]);

impl AdminToken {
    /// A token made of `bytes`.
    pub fn new(bytes: &[u8]) -> AdminToken {
        AdminToken(Sha256::digest(bytes).into())
    }

    /// Reads the token from a file (at least 16 bytes; a final newline is not part of it).
    pub fn read_file(path: &Path) -> Result<AdminToken, SecretFileError> {
        read_secret_file("admin token", path).map(|bytes| AdminToken::new(&bytes))
    }

    /// Whether `presented` is this token, in time that does not depend on where they differ.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        digest.ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<not shown>)")
    }
}

/// Checks client requests before the driver sees them.
#[derive(Clone, Debug)]
pub struct AdminGate {
    token: Option<AdminToken>,
    /// No token, and the client port is on loopback: admin requests without credentials pass.
    open_on_loopback: bool,
    min_voters: usize,
}

impl AdminGate {
    /// The gate of a node with `security` whose client port listens on `client_listen`.
    pub fn new(security: &SecurityConfig, client_listen: SocketAddr) -> AdminGate {
        AdminGate {
            token: security.admin_token.clone(),
            open_on_loopback: security.admin_token.is_none() && client_listen.ip().is_loopback(),
            min_voters: security.min_voters,
        }
    }

    /// A sentence for the startup log: who may send admin requests.
    pub fn describe(&self) -> String {
        let who = if self.token.is_some() {
            "clients that present the admin token"
        } else if self.open_on_loopback {
            "any client (no admin token; the client port is on loopback)"
        } else {
            "nobody (no admin token, and the client port is not on loopback)"
        };
        format!(
            "admin requests are taken from {who}; changes that leave fewer than {} voters need --force",
            self.min_voters
        )
    }

    /// Lets `request` through (admin requests stripped of their credentials, for the driver) or
    /// answers it with a refusal. `status` is the node's now (role and configuration in effect).
    pub fn admit(
        &self,
        request: ClientRequest,
        status: &Status,
    ) -> Result<ClientRequest, ClientResponse> {
        let (admin, token, force) = match request {
            ClientRequest::Kv { .. } => return Ok(request),
            ClientRequest::Admin(admin) => (admin, None, false),
            ClientRequest::AuthorizedAdmin(authorized) => {
                (authorized.request, authorized.token, authorized.force)
            }
        };
        self.check_authority(token.as_ref())?;
        if !force {
            self.check_floor(&admin, status)?;
        }
        Ok(ClientRequest::Admin(admin))
    }

    fn check_authority(&self, token: Option<&PresentedToken>) -> Result<(), ClientResponse> {
        let refused = |why: &str| {
            tracing::info!(reason = why, "admin request refused");
            Err(ClientResponse::Error(format!("refused: {why}")))
        };
        match (&self.token, token) {
            (Some(expected), Some(presented)) if expected.matches(&presented.0) => Ok(()),
            (Some(_), Some(_)) => refused("the admin token does not match this node's"),
            (Some(_), None) => refused(
                "this node takes admin requests only with its admin token (raft-kv client --admin-token-file)",
            ),
            (None, _) if self.open_on_loopback => Ok(()),
            (None, _) => refused(
                "this node has no admin token and its client port is not on loopback, so it takes no admin requests (raft-kv serve --admin-token-file)",
            ),
        }
    }

    fn check_floor(&self, admin: &AdminRequest, status: &Status) -> Result<(), ClientResponse> {
        let AdminRequest::Remove { id } = admin else {
            return Ok(());
        };
        // Only the leader proposes; elsewhere the driver answers NotLeader and the client moves on.
        if status.role != Role::Leader || !status.conf.is_voter(*id) {
            return Ok(());
        }
        let left = status.conf.voters.len() - 1;
        if left >= self.min_voters {
            return Ok(());
        }
        tracing::info!(
            voter = id,
            left,
            floor = self.min_voters,
            "voter removal refused below the floor"
        );
        Err(ClientResponse::Error(format!(
            "refused: removing voter {id} would leave {left} voters, fewer than this node's floor of {} (raft-kv serve --min-voters); add a voter first, or force it (raft-kv client --force)",
            self.min_voters
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ConfState;
    use crate::kv::{AuthorizedAdmin, Op};

    const TOKEN: &[u8] = b"admin-token-of-the-test";

    fn leader_of(voters: &[u64]) -> Status {
        Status {
            id: 1,
            role: Role::Leader,
            term: 2,
            leader: Some(1),
            commit: 5,
            applied: 5,
            last_index: 5,
            conf: ConfState::with_voters(voters.iter().copied()),
        }
    }

    fn loopback() -> SocketAddr {
        "127.0.0.1:8001".parse().unwrap()
    }

    fn anywhere() -> SocketAddr {
        "0.0.0.0:8001".parse().unwrap()
    }

    fn gate(token: Option<&[u8]>, listen: SocketAddr) -> AdminGate {
        let security = SecurityConfig {
            admin_token: token.map(AdminToken::new),
            ..SecurityConfig::default()
        };
        AdminGate::new(&security, listen)
    }

    fn authorized(request: AdminRequest, token: Option<&[u8]>, force: bool) -> ClientRequest {
        ClientRequest::AuthorizedAdmin(AuthorizedAdmin {
            request,
            token: token.map(|t| PresentedToken(t.to_vec())),
            force,
        })
    }

    fn refusal(result: Result<ClientRequest, ClientResponse>) -> String {
        match result {
            Err(ClientResponse::Error(text)) => {
                assert!(
                    !text.contains("unknown"),
                    "a refusal is definite and must not read as unknown: {text}"
                );
                text
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    const PROMOTE: AdminRequest = AdminRequest::Promote { id: 4 };

    #[test]
    fn with_a_token_admin_requests_need_it_and_kv_requests_do_not() {
        let gate = gate(Some(TOKEN), loopback());
        let status = leader_of(&[1, 2, 3]);
        let text = refusal(gate.admit(ClientRequest::Admin(PROMOTE), &status));
        assert!(text.contains("--admin-token-file"), "{text}");
        let text = refusal(gate.admit(
            authorized(PROMOTE, Some(b"wrong-token-wrong-token"), false),
            &status,
        ));
        assert!(text.contains("does not match"), "{text}");
        assert_eq!(
            gate.admit(authorized(PROMOTE, Some(TOKEN), false), &status),
            Ok(ClientRequest::Admin(PROMOTE))
        );
        let kv = ClientRequest::Kv {
            client_id: 1,
            seq: 1,
            op: Op::Get { key: "k".into() },
        };
        assert_eq!(gate.admit(kv.clone(), &status), Ok(kv));
    }

    #[test]
    fn without_a_token_admin_requests_pass_only_on_a_loopback_client_port() {
        let status = leader_of(&[1, 2, 3]);
        let open = gate(None, loopback());
        assert_eq!(
            open.admit(ClientRequest::Admin(PROMOTE), &status),
            Ok(ClientRequest::Admin(PROMOTE))
        );
        let closed = gate(None, anywhere());
        let text = refusal(closed.admit(ClientRequest::Admin(PROMOTE), &status));
        assert!(text.contains("not on loopback"), "{text}");
        refusal(closed.admit(authorized(PROMOTE, Some(TOKEN), true), &status));
        let transfer = AdminRequest::TransferLeadership { to: 2 };
        refusal(closed.admit(ClientRequest::Admin(transfer), &status));
    }

    #[test]
    fn a_removal_below_the_floor_is_refused_unless_forced() {
        let gate = gate(None, loopback());
        let remove = AdminRequest::Remove { id: 3 };
        // Four voters: removing one leaves three, the default floor.
        assert!(gate
            .admit(
                ClientRequest::Admin(remove.clone()),
                &leader_of(&[1, 2, 3, 4])
            )
            .is_ok());
        let text =
            refusal(gate.admit(ClientRequest::Admin(remove.clone()), &leader_of(&[1, 2, 3])));
        assert!(
            text.contains("leave 2 voters") && text.contains("--force"),
            "{text}"
        );
        assert_eq!(
            gate.admit(
                authorized(remove.clone(), None, true),
                &leader_of(&[1, 2, 3])
            ),
            Ok(ClientRequest::Admin(remove.clone()))
        );
        // A learner's removal changes no voter count.
        let mut status = leader_of(&[1, 2, 3]);
        status.conf.learners.push(5);
        let learner = AdminRequest::Remove { id: 5 };
        assert!(gate.admit(ClientRequest::Admin(learner), &status).is_ok());
        // A follower leaves the decision to the leader (its driver answers NotLeader).
        let mut follower = leader_of(&[1, 2, 3]);
        follower.role = Role::Follower;
        assert!(gate.admit(ClientRequest::Admin(remove), &follower).is_ok());
    }

    #[test]
    fn the_floor_is_the_operators_choice() {
        let security = SecurityConfig {
            min_voters: 1,
            ..SecurityConfig::default()
        };
        let gate = AdminGate::new(&security, loopback());
        let remove = AdminRequest::Remove { id: 2 };
        assert!(gate
            .admit(ClientRequest::Admin(remove), &leader_of(&[1, 2]))
            .is_ok());
    }

    #[test]
    fn tokens_compare_by_content_and_never_show() {
        let token = AdminToken::new(TOKEN);
        assert!(token.matches(TOKEN));
        assert!(!token.matches(b"admin-token-of-the-tesT"));
        assert!(!token.matches(b""));
        assert!(!format!("{token:?}").contains("admin-token"));
    }
}
