//! Unit tests of the client's retry state machine: targets, sequence numbers, session renewal,
//! deadlines, and which failures are definite.

use super::*;

const MS: Duration = Duration::from_millis(1);

fn policy() -> RetryPolicy {
    RetryPolicy {
        op_timeout: 1000 * MS,
        attempt_timeout: 300 * MS,
        retry_pause: 10 * MS,
    }
}

/// A session over three listed nodes whose client ids count up from 100.
fn session() -> ClientSession<u64> {
    let mut next = 99;
    ClientSession::new(policy(), 3, move || {
        next += 1;
        next
    })
}

fn append() -> Op {
    Op::Append {
        key: "k".into(),
        value: "1,".into(),
    }
}

fn get() -> Op {
    Op::Get { key: "k".into() }
}

/// The target, client id and sequence of a `Send`; panics on anything else.
fn sent(action: Action<u64>) -> (Target<u64>, u64, u64) {
    match action {
        Action::Send {
            to,
            request: ClientRequest::Kv { client_id, seq, .. },
            ..
        } => (to, client_id, seq),
        other => panic!("expected a send, got {other:?}"),
    }
}

fn not_leader(hint: Option<u64>) -> ClientResponse {
    ClientResponse::NotLeader {
        leader_hint: hint,
        leader_client_addr: None,
    }
}

#[test]
fn a_write_keeps_its_sequence_across_retries_and_success_advances_it() {
    let mut s = session();
    let (to, id, seq) = sent(s.begin(append(), Duration::ZERO));
    assert_eq!((to, id, seq), (Target::Listed(0), 100, FIRST_SEQ));
    assert_eq!(
        s.on_failure(true, ErrorKind::Timeout, "timeout".into()),
        Action::Pause(10 * MS)
    );
    let (to, _, seq) = sent(s.on_pause_over(320 * MS));
    assert_eq!((to, seq), (Target::Listed(1), FIRST_SEQ));
    let done = s.on_answer(ClientResponse::Ok(OpResult::Written), None, 330 * MS);
    assert_eq!(done, Action::Done(Ok(Success::Kv(OpResult::Written))));
    assert!(!s.is_busy());
    let (_, _, seq) = sent(s.begin(append(), 400 * MS));
    assert_eq!(seq, FIRST_SEQ + 1);
}

#[test]
fn reads_carry_sequence_zero_and_do_not_advance_the_session() {
    let mut s = session();
    let (_, _, seq) = sent(s.begin(get(), Duration::ZERO));
    assert_eq!(seq, 0);
    s.on_answer(ClientResponse::Ok(OpResult::Value(None)), None, MS);
    assert_eq!(s.next_seq(), FIRST_SEQ);
}

#[test]
fn hints_are_followed_and_hintless_refusals_rotate_through_the_list() {
    let mut s = session();
    s.begin(append(), Duration::ZERO);
    assert_eq!(
        s.on_answer(not_leader(Some(3)), Some(3), MS),
        Action::Pause(10 * MS)
    );
    assert_eq!(s.known_leader(), Some(&3));
    assert_eq!(sent(s.on_pause_over(20 * MS)).0, Target::Leader(3));
    // A refusal without a usable hint forgets the leader and moves on from the list position.
    s.on_answer(not_leader(Some(3)), None, 30 * MS);
    assert_eq!(s.known_leader(), None);
    assert_eq!(sent(s.on_pause_over(40 * MS)).0, Target::Listed(1));
    // Busy asks the same node again.
    s.on_answer(ClientResponse::Busy, None, 50 * MS);
    assert_eq!(sent(s.on_pause_over(60 * MS)).0, Target::Listed(1));
    s.on_failure(false, ErrorKind::ConnectionRefused, "refused".into());
    assert_eq!(sent(s.on_pause_over(70 * MS)).0, Target::Listed(2));
    s.on_failure(false, ErrorKind::ConnectionRefused, "refused".into());
    assert_eq!(sent(s.on_pause_over(80 * MS)).0, Target::Listed(0));
    s.start_at(4);
    s.on_failure(false, ErrorKind::ConnectionRefused, "refused".into());
    assert_eq!(sent(s.on_pause_over(90 * MS)).0, Target::Listed(2));
}

#[test]
fn refusals_until_the_deadline_are_definite() {
    let mut s = session();
    s.begin(append(), Duration::ZERO);
    s.on_answer(ClientResponse::Busy, None, 500 * MS);
    s.on_failure(
        false,
        ErrorKind::ConnectionRefused,
        "connection refused".into(),
    );
    let Action::Done(Err(err)) = s.on_pause_over(1000 * MS) else {
        panic!("expected the give-up")
    };
    assert!(err.is_definite(), "{err:?}");
    assert!(err.to_string().contains("connection refused"), "{err}");
    assert_eq!(s.next_seq(), FIRST_SEQ, "nothing may have landed");
}

#[test]
fn a_write_that_may_have_landed_is_indefinite_and_skips_its_sequence() {
    let mut s = session();
    s.begin(append(), Duration::ZERO);
    s.on_failure(true, ErrorKind::Timeout, "no answer".into());
    s.on_pause_over(20 * MS);
    s.on_answer(ClientResponse::Busy, None, 30 * MS);
    let Action::Done(Err(err)) = s.on_pause_over(1000 * MS) else {
        panic!("expected the give-up")
    };
    assert!(!err.is_definite(), "{err:?}");
    assert_eq!(s.next_seq(), FIRST_SEQ + 1);
    // An `Error` answer to a write also may have landed.
    s.begin(append(), 2000 * MS);
    s.on_answer(ClientResponse::Error("disk".into()), None, 2010 * MS);
    let Action::Done(Err(err)) = s.on_pause_over(3000 * MS) else {
        panic!("expected the give-up")
    };
    assert!(!err.is_definite(), "{err:?}");
}

#[test]
fn a_failed_read_is_always_definite() {
    let mut s = session();
    s.begin(get(), Duration::ZERO);
    s.on_failure(true, ErrorKind::Timeout, "no answer".into());
    s.on_answer(ClientResponse::Error("x".into()), None, 100 * MS);
    let Action::Done(Err(err)) = s.on_pause_over(1000 * MS) else {
        panic!("expected the give-up")
    };
    assert!(err.is_definite(), "{err:?}");
}

#[test]
fn an_expired_session_is_renewed_once_and_only_if_nothing_may_have_landed() {
    let mut s = session();
    s.begin(append(), Duration::ZERO);
    let (to, id, seq) = sent(s.on_answer(ClientResponse::SessionExpired, None, MS));
    assert_eq!((to, id, seq), (Target::Listed(0), 101, FIRST_SEQ));
    let done = s.on_answer(ClientResponse::StaleSequence, None, 2 * MS);
    let Action::Done(Err(err)) = done else {
        panic!("expected a failure, got {done:?}")
    };
    assert!(err.is_definite(), "{err:?}");
    assert_eq!(s.client_id(), 102);

    s.begin(append(), 10 * MS);
    s.on_failure(true, ErrorKind::Timeout, "no answer".into());
    s.on_pause_over(30 * MS);
    let Action::Done(Err(err)) = s.on_answer(ClientResponse::SessionExpired, None, 40 * MS) else {
        panic!("expected a failure")
    };
    assert!(!err.is_definite(), "{err:?}");
    // A read ignores session trouble: it is a refusal like any other.
    s.begin(get(), 50 * MS);
    assert_eq!(
        s.on_answer(ClientResponse::SessionExpired, None, 60 * MS),
        Action::Pause(10 * MS)
    );
}

#[test]
fn attempts_never_wait_past_the_deadline() {
    let mut s = session();
    let Action::Send { timeout, .. } = s.begin(append(), Duration::ZERO) else {
        panic!()
    };
    assert_eq!(timeout, 300 * MS);
    s.on_failure(true, ErrorKind::Timeout, "no answer".into());
    let Action::Send { timeout, .. } = s.on_pause_over(900 * MS) else {
        panic!()
    };
    assert_eq!(timeout, 100 * MS);
}

#[test]
fn membership_changes_are_rejected_or_committed() {
    let mut s = session();
    let request = AdminRequest::Promote { id: 4 };
    let Action::Send { request: sent, .. } = s.begin_admin(request.clone(), Duration::ZERO) else {
        panic!()
    };
    assert_eq!(sent, ClientRequest::Admin(request.clone()));
    let done = s.on_answer(ClientResponse::Error("not a voter".into()), None, MS);
    assert!(matches!(
        done,
        Action::Done(Err(ClientError::Rejected { .. }))
    ));
    s.begin_admin(request.clone(), 10 * MS);
    // An error that may be transient counts as maybe applied, like a write.
    s.on_answer(
        ClientResponse::Error("unknown outcome".into()),
        None,
        11 * MS,
    );
    assert_eq!(
        s.on_answer(ClientResponse::AdminOk, None, 12 * MS),
        Action::Done(Ok(Success::Admin))
    );
    assert_eq!(s.next_seq(), FIRST_SEQ, "admin requests take no sequence");
}

#[test]
fn inputs_without_an_operation_are_refused_not_panics() {
    let mut s = session();
    for action in [
        s.on_pause_over(Duration::ZERO),
        s.on_failure(true, ErrorKind::Timeout, "x".into()),
        s.on_answer(ClientResponse::Busy, None, Duration::ZERO),
    ] {
        assert!(matches!(
            action,
            Action::Done(Err(ClientError::Definite { .. }))
        ));
    }
}

#[test]
fn a_failure_names_the_last_trouble_and_the_node_last_tried() {
    let mut s = session();
    assert_eq!(s.last_target(), None);
    s.begin(append(), Duration::ZERO);
    assert_eq!(s.last_target(), Some(&Target::Listed(0)));
    s.on_failure(true, ErrorKind::Timeout, "no answer".into());
    s.on_pause_over(20 * MS);
    assert_eq!(s.last_target(), Some(&Target::Listed(1)));
    s.on_answer(not_leader(Some(3)), Some(3), 30 * MS);
    s.on_pause_over(40 * MS);
    assert_eq!(s.last_target(), Some(&Target::Leader(3)));
    s.on_failure(false, ErrorKind::ConnectionRefused, "refused".into());
    let Action::Done(Err(err)) = s.on_pause_over(1000 * MS) else {
        panic!("expected the give-up")
    };
    assert!(!err.is_definite(), "the first attempt may have landed");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(
        s.last_target(),
        Some(&Target::Leader(3)),
        "the node last tried, not the next in line"
    );
}

#[test]
fn refusals_have_their_kinds_and_a_success_names_who_answered() {
    for (answer, kind) in [
        (not_leader(Some(2)), ErrorKind::NotLeader),
        (not_leader(None), ErrorKind::NoLeader),
        (ClientResponse::Busy, ErrorKind::Busy),
        (ClientResponse::Error("disk".into()), ErrorKind::ServerError),
    ] {
        let mut s = session();
        s.begin(get(), Duration::ZERO);
        s.on_answer(answer.clone(), None, MS);
        let Action::Done(Err(err)) = s.on_pause_over(1000 * MS) else {
            panic!("expected the give-up after {answer:?}")
        };
        assert_eq!(err.kind(), kind, "{answer:?}");
        assert!(!err.to_string().contains("Some("), "{err}");
    }
    let mut s = session();
    s.begin(append(), Duration::ZERO);
    s.on_answer(ClientResponse::SessionExpired, None, MS);
    s.on_failure(true, ErrorKind::Timeout, "no answer".into());
    s.on_pause_over(20 * MS);
    let Action::Done(Err(err)) = s.on_answer(ClientResponse::StaleSequence, None, 30 * MS) else {
        panic!("a refused fresh session after a maybe-landed attempt ends the write")
    };
    assert_eq!(err.kind(), ErrorKind::SessionExpired);
    let mut s = session();
    s.start_at(2);
    s.begin(get(), Duration::ZERO);
    let done = s.on_answer(ClientResponse::Ok(OpResult::Value(None)), None, MS);
    assert!(matches!(done, Action::Done(Ok(_))));
    assert_eq!(s.last_target(), Some(&Target::Listed(2)));
}
