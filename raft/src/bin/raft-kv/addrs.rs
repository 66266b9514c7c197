//! Parsing of address lists on the command line: `1=127.0.0.1:7001,2=...` and `a:p,b:p`.

use std::{collections::BTreeMap, net::SocketAddr};

use anyhow::{bail, Context, Result};

/// Parses `id=ip:port,id=ip:port`.
pub fn parse_id_addrs(list: &str) -> Result<BTreeMap<u64, SocketAddr>> {
    let mut map = BTreeMap::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, addr) = item
            .split_once('=')
            .with_context(|| format!("{item:?}: expected ID=IP:PORT, e.g. 1=127.0.0.1:7001"))?;
        let id: u64 = id
            .trim()
            .parse()
            .with_context(|| format!("{item:?}: node id {id:?} is not a number"))?;
        let addr: SocketAddr = addr
            .trim()
            .parse()
            .with_context(|| format!("{item:?}: {addr:?} is not IP:PORT"))?;
        if map.insert(id, addr).is_some() {
            bail!("node id {id} is listed twice");
        }
    }
    Ok(map)
}

/// Parses `ip:port,ip:port`.
pub fn parse_addrs(list: &str) -> Result<Vec<SocketAddr>> {
    let addrs = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|a| {
            a.parse::<SocketAddr>()
                .with_context(|| format!("{a:?} is not IP:PORT"))
        })
        .collect::<Result<Vec<_>>>()?;
    if addrs.is_empty() {
        bail!("--cluster needs at least one IP:PORT");
    }
    Ok(addrs)
}
