//! Overhead of the fault proxy on a healthy (`Pass`) link: round-trip latency of small messages
//! and one-way throughput of 1 MiB transfers, each directly and through the proxy, on loopback.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use harness::proxy::{LinkId, LinkSpec, Proxy, ProxyHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

const MESSAGE: usize = 64;
const TRANSFER: usize = 1 << 20;
const LINK: LinkId = LinkId { from: 1, to: 2 };

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Echoes every message of `MESSAGE` bytes back.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            stream.set_nodelay(true).expect("nodelay");
            tokio::spawn(async move {
                let mut buf = [0u8; MESSAGE];
                while stream.read_exact(&mut buf).await.is_ok() {
                    if stream.write_all(&buf).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Reads `TRANSFER` bytes, then answers with one byte, forever.
async fn sink_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            stream.set_nodelay(true).expect("nodelay");
            tokio::spawn(async move {
                let mut buf = vec![0u8; TRANSFER];
                while stream.read_exact(&mut buf).await.is_ok() {
                    if stream.write_all(&[1]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A connected client: directly to `target`, or through a fresh proxy (kept alive alongside).
async fn client(target: SocketAddr, proxied: bool) -> (TcpStream, Option<ProxyHandle>) {
    let (addr, proxy) = if proxied {
        let proxy = Proxy::start(vec![LinkSpec::loopback(LINK, target)])
            .await
            .expect("proxy");
        (proxy.addr(LINK).expect("link addr"), Some(proxy))
    } else {
        (target, None)
    };
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    (stream, proxy)
}

fn round_trip(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("proxy_round_trip_64B");
    for proxied in [false, true] {
        let name = if proxied { "proxied" } else { "direct" };
        let (mut stream, _proxy) = rt.block_on(async {
            let target = echo_server().await;
            client(target, proxied).await
        });
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let msg = [7u8; MESSAGE];
                    let mut back = [0u8; MESSAGE];
                    let start = Instant::now();
                    for _ in 0..iters {
                        stream.write_all(&msg).await.expect("write");
                        stream.read_exact(&mut back).await.expect("read");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

fn throughput(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("proxy_throughput_1MiB");
    group.throughput(Throughput::Bytes(TRANSFER as u64));
    for proxied in [false, true] {
        let name = if proxied { "proxied" } else { "direct" };
        let (mut stream, _proxy) = rt.block_on(async {
            let target = sink_server().await;
            client(target, proxied).await
        });
        let payload = vec![3u8; TRANSFER];
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut ack = [0u8; 1];
                    let start = Instant::now();
                    for _ in 0..iters {
                        stream.write_all(&payload).await.expect("write");
                        stream.read_exact(&mut ack).await.expect("ack");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = round_trip, throughput
}
criterion_main!(benches);
