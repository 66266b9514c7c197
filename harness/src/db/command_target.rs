//! [`CommandTarget`]: a system started by commands from a config file ([`CommandDb`],
//! `docs/your-system.md`) as a [`Target`] of `gauntlet test --db command --db-config FILE`. Its
//! nodes take every peer's address on their command line (`{peers}`), so every directed link gets
//! its own proxy listener, as for raft-kv.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::json;

use super::command::config::CommandConfig;
use super::command::CommandDb;
use super::{Db, DbError, NodeId};
use crate::nemesis::NemesisKind;
use crate::run::{NodePlan, PlannedNodes, Target};

/// A config-driven system of one run.
#[derive(Clone, Debug)]
pub struct CommandTarget {
    /// The config file (`--db-config`).
    pub config_path: PathBuf,
    /// Its checked contents.
    pub config: CommandConfig,
}

impl CommandTarget {
    /// Reads and checks the config file; the error names the file, the line and what was
    /// expected.
    pub fn load(config_path: PathBuf) -> Result<CommandTarget, String> {
        let config = CommandConfig::load(&config_path).map_err(|err| err.to_string())?;
        Ok(CommandTarget {
            config_path,
            config,
        })
    }
}

impl Target for CommandTarget {
    fn name(&self) -> &'static str {
        "command"
    }

    fn describe(&self) -> String {
        format!("{} ({})", self.config.name, self.config_path.display())
    }

    fn replay_args(&self) -> String {
        format!(" --db command --db-config {}", self.config_path.display())
    }

    fn options_json(&self) -> serde_json::Value {
        json!({
            "config": self.config_path.display().to_string(),
            "name": self.config.name,
        })
    }

    fn test_name_suffix(&self) -> String {
        format!("-{}", self.config.name)
    }

    fn check_nemeses(&self, kinds: &[NemesisKind]) -> Result<(), String> {
        let refused = kinds.iter().find(|k| refuses(**k));
        match refused {
            Some(kind) => Err(format!(
                "--db command does not support the {} nemesis (a config-driven system has no \
                 membership commands, its data directories are not put on the power-loss file \
                 system, and its clients dial the nodes directly); leave it out of --nemesis",
                kind.name()
            )),
            None => Ok(()),
        }
    }

    fn plan(&self, plan: &NodePlan) -> Result<Box<dyn PlannedNodes>, DbError> {
        let mut config = self.config.clone();
        // `--nodes` wins over the config's count.
        config.nodes = plan.nodes;
        Ok(Box::new(CommandDb::plan(config, plan.dir.clone())?))
    }
}

/// The nemeses a config-driven system cannot take.
fn refuses(kind: NemesisKind) -> bool {
    kind == NemesisKind::Membership
        || kind == NemesisKind::ClientPartition
        || kind.needs_power_loss_fs()
}

impl PlannedNodes for CommandDb {
    fn peer_addrs(&self) -> BTreeMap<NodeId, SocketAddr> {
        CommandDb::peer_addrs(self)
    }

    fn client_addrs(&self) -> Vec<SocketAddr> {
        Db::client_addrs(self)
    }

    fn route_peers(&mut self, route: &dyn Fn(NodeId, NodeId) -> SocketAddr) -> Result<(), DbError> {
        CommandDb::route_peers(self, route);
        Ok(())
    }

    fn into_db(self: Box<Self>) -> Box<dyn Db> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tiny_kv() -> CommandTarget {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_kv.json");
        CommandTarget::load(path).unwrap()
    }

    #[test]
    fn the_command_target_refuses_churn_and_disk_faults_and_takes_the_rest() {
        let target = tiny_kv();
        for kind in NemesisKind::every() {
            let refused = matches!(
                kind,
                NemesisKind::Membership
                    | NemesisKind::ClientPartition
                    | NemesisKind::PowerLoss
                    | NemesisKind::DiskError
            );
            assert_eq!(target.check_nemeses(&[kind]).is_err(), refused, "{kind:?}");
        }
        assert!(target.replay_args().contains("--db command --db-config"));
        assert_eq!(target.test_name_suffix(), "-tiny-kv");
    }

    #[test]
    fn a_missing_config_is_refused_with_its_path() {
        let err = CommandTarget::load("/nonexistent/gauntlet.json".into()).unwrap_err();
        assert!(err.contains("/nonexistent/gauntlet.json"), "{err}");
    }
}
