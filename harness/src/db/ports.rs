//! Free loopback ports: bind port 0, read the port the kernel chose, release it. Another process
//! could take it in between, which is rare enough on loopback; two runs at once get different
//! ports.

use std::net::{SocketAddr, TcpListener};

/// `count` distinct free loopback addresses.
pub fn free_loopback_addrs(count: usize) -> std::io::Result<Vec<SocketAddr>> {
    // Hold every listener until all are chosen, so the kernel does not hand out one port twice.
    let listeners = (0..count)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners.iter().map(TcpListener::local_addr).collect()
}
