//! Task ownership: a group of spawned tasks that stops when its owner says so or is dropped, and
//! the accept loop shared by the peer listener and the client port.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    net::{TcpListener, TcpStream},
    runtime::Handle,
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use super::{
    admission::{Admission, AdmissionLimits, Refusal, Slot},
    metrics::{bump, ListenerCounters, ListenerMetrics, OpenConnection},
    NetError,
};

/// Tasks that live exactly as long as their owner: dropping the group cancels and aborts them all.
#[derive(Debug)]
pub(crate) struct TaskGroup {
    runtime: Handle,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl TaskGroup {
    /// A group bound to the current tokio runtime.
    pub fn new() -> Result<TaskGroup, NetError> {
        let runtime = Handle::try_current().map_err(|_| NetError::NoRuntime)?;
        Ok(TaskGroup {
            runtime,
            cancel: CancellationToken::new(),
            tasks: JoinSet::new(),
        })
    }

    /// The token every task of the group watches.
    pub fn token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Spawns a task into the group (callable from outside the runtime too).
    pub fn spawn<F>(&mut self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        while self.tasks.try_join_next().is_some() {}
        self.tasks.spawn_on(task, &self.runtime);
    }

    /// Asks every task to stop, waits up to `grace` for them, then aborts the rest.
    pub async fn shutdown(&mut self, grace: Duration) {
        self.cancel.cancel();
        let drained = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
    }
}

impl Drop for TaskGroup {
    fn drop(&mut self) {
        // The JoinSet aborts its tasks when dropped; cancelling first lets them notice politely.
        self.cancel.cancel();
    }
}

/// A running listener (peer listener or client port). Dropping it, or calling
/// [`ListenerHandle::shutdown`], stops accepting and closes every connection it serves.
#[derive(Debug)]
pub struct ListenerHandle {
    local_addr: SocketAddr,
    counters: Arc<ListenerCounters>,
    tasks: TaskGroup,
}

impl ListenerHandle {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A snapshot of the listener's counters.
    pub fn metrics(&self) -> ListenerMetrics {
        self.counters.snapshot()
    }

    /// Stops accepting and closes all connections; returns once every task has ended.
    pub async fn shutdown(mut self) {
        self.tasks.shutdown(Duration::from_secs(1)).await;
    }
}

/// Spawns an accept loop over `listener` that hands each connection to `serve` with its slot,
/// within `limits` (see [`Admission`]: refused connections are closed right after accept and
/// counted; a connection evicted to make room is closed by dropping its task).
pub(crate) fn spawn_listener<F, Fut>(
    listener: TcpListener,
    limits: AdmissionLimits,
    what: &'static str,
    serve: F,
) -> Result<ListenerHandle, NetError>
where
    F: Fn(TcpStream, SocketAddr, Arc<ListenerCounters>, Slot) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let local_addr = listener.local_addr()?;
    let counters = Arc::new(ListenerCounters::default());
    let mut tasks = TaskGroup::new()?;
    let cancel = tasks.token();
    let loop_counters = counters.clone();
    tasks.spawn(async move {
        let admission = Admission::new(limits);
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                accepted = listener.accept() => match accepted {
                    Ok((stream, remote)) => {
                        let slot = match admission.admit(remote.ip()) {
                            Ok(admitted) => {
                                if admitted.evicted_another {
                                    bump(&loop_counters.evicted);
                                    tracing::debug!(%local_addr, %remote, "{what}: full; closed the oldest connection that had not yet spoken to make room");
                                }
                                admitted.slot
                            }
                            Err(Refusal::SourceFull) => {
                                bump(&loop_counters.over_source_limit);
                                tracing::warn!(%local_addr, %remote, max_per_source = limits.max_per_source, "{what}: too many connections from this address, closing new connection");
                                continue;
                            }
                            Err(Refusal::ListenerFull) => {
                                bump(&loop_counters.over_limit);
                                tracing::warn!(%local_addr, %remote, max_connections = limits.max_connections, "{what}: connection limit reached, closing new connection");
                                continue;
                            }
                        };
                        bump(&loop_counters.accepted);
                        if let Err(e) = stream.set_nodelay(true) {
                            tracing::debug!(%remote, error = %e, "{what}: could not set TCP_NODELAY");
                        }
                        let open = OpenConnection::new(loop_counters.clone());
                        let evicted = slot.evicted();
                        let served = serve(stream, remote, loop_counters.clone(), slot);
                        connections.spawn(async move {
                            tokio::select! {
                                _ = served => {}
                                _ = evicted.cancelled() => {}
                            }
                            drop(open);
                        });
                    }
                    Err(e) => {
                        // Typically out of file descriptors: back off briefly instead of spinning.
                        tracing::warn!(%local_addr, error = %e, "{what}: accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                },
            }
        }
        // Dropping `connections` aborts every connection task.
    });
    Ok(ListenerHandle {
        local_addr,
        counters,
        tasks,
    })
}
