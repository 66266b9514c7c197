//! Swarm testing (what `gauntlet sim` does unless `--no-swarm`): every seed draws its own
//! configuration from the seed (the core's flow control, the network's loss, duplication and
//! reordering, which fault kinds run and how often (`membership` among them when the template
//! has it), how many clients, leader churn, how often replicas snapshot and compact their logs,
//! how soon idle client sessions expire, how large a snapshot chunk is), so a sweep explores many different worlds instead of
//! one average one. A feature that hides a bug in the average world (large
//! AppendEntries that deliver an old leader's entries together with the new leader's no-op; so
//! many fault kinds that none lasts) is switched off or turned to an extreme in some seeds.
//!
//! The drawn values are written into the spec, so `spec.json` shows them and `--replay` runs
//! them as they are. The template bounds the draw: only its fault kinds are picked from, and
//! at most its number of clients.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::churn::ChurnSpec;
use super::spec::SimSpec;

/// Picks one of `choices` uniformly.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, choices: &[T]) -> T {
    choices[rng.random_range(0..choices.len())]
}

/// Replaces the knobs of `spec` with ones drawn from `spec.seed` (and marks it `swarm`).
pub fn draw(spec: &mut SimSpec) {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x7377_6172_6d00_0000);
    // Flow control: down to one entry per message and one message in flight.
    spec.max_msg_bytes = pick(&mut rng, &[1, 1, 1, 256, 1 << 20, 1 << 20]);
    spec.max_inflight_msgs = pick(&mut rng, &[1, 2, 16, 256]);
    // Network.
    spec.network.loss_chance = pick(&mut rng, &[0.0, 0.01, 0.03, 0.1]);
    spec.network.duplicate_chance = pick(&mut rng, &[0.0, 0.02, 0.1]);
    spec.network.slow_chance = pick(&mut rng, &[0.0, 0.02, 0.1]);
    // Faults: each kind of the template kept with probability 1/2, at its own pace.
    let (sim_only, kinds): (Vec<_>, Vec<_>) =
        spec.nemesis.iter().partition(|kind| kind.is_sim_only());
    spec.nemesis = kinds.into_iter().filter(|_| rng.random_bool(0.5)).collect();
    // Membership, also with chance 1/2, from a stream of its own: the other draws stay those of
    // a template without it.
    if !sim_only.is_empty() {
        let mut own = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x6d65_6d62_6572_7300);
        spec.nemesis
            .extend(sim_only.into_iter().filter(|_| own.random_bool(0.5)));
        spec.nemesis.sort_unstable();
    }
    spec.fault_interval_ms = pick(&mut rng, &[250, 500, 1_000, 2_000]);
    // Clients.
    if spec.clients > 2 {
        spec.clients = rng.random_range(2..=spec.clients);
    }
    // Leader churn in two seeds of three.
    let churn = ChurnSpec {
        chance: pick(&mut rng, &[0.5, 1.0, 1.0]),
        commit_chance: pick(&mut rng, &[0.0, 0.5, 1.0, 1.0]),
        tenure_chance: pick(&mut rng, &[0.0, 0.5, 1.0]),
        max_tenure_ms: pick(&mut rng, &[500, 2_000, 5_000]),
        min_delay_us: 100,
        max_delay_us: pick(&mut rng, &[2_000, 2_000, 2_000, 20_000, 200_000]),
        min_down_ms: 100,
        max_down_ms: pick(&mut rng, &[500, 2_000, 2_000]),
        isolate_chance: pick(&mut rng, &[0.0, 1.0, 1.0, 1.0]),
        max_strikes: 20,
        spared: Vec::new(),
    };
    spec.churn = rng.random_bool(2.0 / 3.0).then_some(churn);
    draw_compaction(spec);
    spec.swarm = true;
}

/// Compaction and session expiry, from their own stream (adding knobs above leaves them be).
/// Snapshots every 2 to 250 applied entries, log-uniform (a run applies a few hundred entries, so
/// most seeds snapshot often enough that followers receive InstallSnapshot and restarts restore
/// from one), never in one seed of six; sessions expire after 10 to 500 idle entries in one seed
/// of three (a client that gave up on a request moves to a fresh session and leaves its old one
/// idle); snapshots travel in chunks of 16 B to 16 KiB, log-uniform (drawn last, so the draws
/// above are those of a build without chunks): a KV snapshot of a run is mostly 200 B to 2 KiB,
/// so about half the seeds send it in several chunks and the others whole.
fn draw_compaction(spec: &mut SimSpec) {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x636f_6d70_6163_7400);
    let log_uniform = |rng: &mut ChaCha8Rng, lo: f64, hi: f64| {
        (lo * (hi / lo).powf(rng.random::<f64>())).round() as u64
    };
    spec.snapshot_every = if rng.random_bool(1.0 / 6.0) {
        0
    } else {
        log_uniform(&mut rng, 2.0, 250.0)
    };
    spec.session_idle_entries = rng
        .random_bool(1.0 / 3.0)
        .then(|| log_uniform(&mut rng, 10.0, 500.0));
    spec.snapshot_chunk_bytes = log_uniform(&mut rng, 16.0, 16_384.0) as usize;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draw_depends_on_the_seed_only_and_stays_in_bounds() {
        let mut template = SimSpec::new(0);
        template.swarm = true;
        assert_eq!(template.for_seed(9), template.for_seed(9));
        let specs: Vec<SimSpec> = (0..64).map(|s| template.for_seed(s)).collect();
        assert!(specs
            .iter()
            .all(|s| s.swarm && s.clients >= 2 && s.clients <= 10));
        assert!(specs.iter().any(|s| s.max_msg_bytes == 1));
        assert!(specs.iter().any(|s| s.max_msg_bytes == 1 << 20));
        assert!(specs.iter().any(|s| s.churn.is_some()));
        assert!(specs.iter().any(|s| s.churn.is_none()));
        assert!(specs.iter().any(|s| s.snapshot_every == 0));
        assert!(specs
            .iter()
            .all(|s| s.snapshot_every == 0 || (2..=250).contains(&s.snapshot_every)));
        let snapshotting = specs.iter().filter(|s| s.snapshot_every > 0).count();
        assert!(
            snapshotting > specs.len() / 2,
            "{snapshotting} of 64 snapshot"
        );
        assert!(specs.iter().any(|s| s.session_idle_entries.is_some()));
        assert!(specs
            .iter()
            .all(|s| (16..=16_384).contains(&s.snapshot_chunk_bytes)));
        assert!(specs.iter().any(|s| s.snapshot_chunk_bytes < 128));
        assert!(specs.iter().any(|s| s.snapshot_chunk_bytes > 4096));
        assert!(specs
            .iter()
            .all(|s| s.churn.as_ref().is_none_or(|c| c.validate().is_ok())));
        let distinct: std::collections::BTreeSet<usize> =
            specs.iter().map(|s| s.nemesis.len()).collect();
        assert!(distinct.len() > 2, "fault kinds vary: {distinct:?}");
        // Membership is drawn too when the template has it, without changing the other draws.
        let mut with_members = template.clone();
        with_members
            .nemesis
            .push(crate::sim::schedule::NemesisKind::Membership);
        let drawn: Vec<SimSpec> = (0..64).map(|s| with_members.for_seed(s)).collect();
        let has = |s: &SimSpec| {
            s.nemesis
                .contains(&crate::sim::schedule::NemesisKind::Membership)
        };
        assert!(drawn.iter().any(has) && !drawn.iter().all(has));
        for (a, b) in specs.iter().zip(&drawn) {
            let mut b = b.clone();
            b.nemesis.retain(|k| !k.is_sim_only());
            assert_eq!(a, &b);
        }
        // Without swarm, only the seed changes.
        let plain = SimSpec::new(0).for_seed(5);
        assert_eq!(plain, SimSpec::new(5));
    }
}
