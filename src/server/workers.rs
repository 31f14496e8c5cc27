//! The threads that serve connections when [`ServerBuilder::io_threads`]
//! asks for them: each runs a tokio current-thread runtime, and a
//! connection, handed over when it is accepted, stays on one of them for
//! its whole life (round robin, as memcached's worker threads). Nothing
//! is stolen between threads and a connection's reads, writes and
//! wake-ups never leave its thread, which tokio's multi-thread scheduler
//! pays for in atomics and cross-thread wake-ups on every read.
//!
//! Without them (the default) connections are served on the runtime that
//! awaits the server.
//!
//! [`ServerBuilder::io_threads`]: super::ServerBuilder::io_threads

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

/// The serving threads: none, or a runtime handle per thread.
#[derive(Debug, Default)]
pub(super) struct Workers {
    handles: Vec<Handle>,
    /// The next thread to be handed a connection.
    next: AtomicUsize,
    /// Dropped to end the threads.
    stops: Vec<oneshot::Sender<()>>,
}

impl Workers {
    /// Starts `threads` serving threads (none for 0), each busy polling
    /// for `busy_poll` after work (see [`super::busy_poll`]) and yielding
    /// its core once it has held it for a whole `cpu_slice` (see
    /// [`super::cpu_slice`]).
    pub(super) fn start(threads: usize, busy_poll: Duration, cpu_slice: Duration) -> io::Result<Workers> {
        let mut workers = Workers::default();
        for i in 0..threads {
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            std::thread::Builder::new().name(format!("embercache-io-{i}")).spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(runtime.handle().clone()));
                let _slice = super::cpu_slice::set(cpu_slice);
                runtime.block_on(async {
                    // Dropped with the runtime.
                    tokio::spawn(super::busy_poll::spin(busy_poll));
                    let _ = stop_rx.await;
                });
                // Connections are all done by now (the server awaits them
                // before it lets go of the workers); a blocking command's
                // thread is not waited for long.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
            let handle = ready_rx.recv().map_err(|_| io::Error::other("an I/O thread ended before it started"))??;
            workers.handles.push(handle);
            workers.stops.push(stop_tx);
        }
        Ok(workers)
    }

    /// How many threads serve connections (0: the caller's runtime does).
    #[cfg(test)]
    pub(super) fn threads(&self) -> usize {
        self.handles.len()
    }

    /// The serving threads' runtimes (none: the caller's runtime serves).
    pub(super) fn handles(&self) -> &[Handle] {
        &self.handles
    }

    /// The index in [`Workers::handles`] of the thread to hand the next
    /// connection to: round robin (0 when there are none).
    pub(super) fn next_thread(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len().max(1)
    }

    /// Runs `serve` on `stream` in a task tracked by `tasks`: on the next
    /// serving thread, the socket moved to that thread's reactor, or on
    /// the current runtime when there are no serving threads. A socket that
    /// cannot be moved is closed.
    pub(super) fn spawn<F, Fut>(&self, tasks: &mut JoinSet<()>, stream: TcpStream, serve: F)
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if self.handles.is_empty() {
            tasks.spawn(serve(stream));
            return;
        }
        let Ok(socket) = stream.into_std() else { return };
        let Some(handle) = self.handles.get(self.next_thread()) else { return };
        tasks.spawn_on(
            async move {
                if let Ok(stream) = TcpStream::from_std(socket) {
                    serve(stream).await;
                }
            },
            handle,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Echoes one message on each connection, naming the thread it ran on.
    async fn echo_threads(workers: &Workers, connections: usize) -> Vec<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = JoinSet::new();
        let mut names = Vec::new();
        for _ in 0..connections {
            let client = tokio::spawn(async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.write_all(b"ping").await.unwrap();
                let mut out = String::new();
                c.read_to_string(&mut out).await.unwrap();
                out
            });
            let (stream, _) = listener.accept().await.unwrap();
            workers.spawn(&mut tasks, stream, |mut s| async move {
                let mut buf = [0u8; 4];
                s.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf, b"ping");
                let name = std::thread::current().name().unwrap_or("").to_string();
                s.write_all(name.as_bytes()).await.unwrap();
            });
            names.push(client.await.unwrap());
        }
        while tasks.join_next().await.is_some() {}
        names
    }

    #[tokio::test]
    async fn connections_are_served_round_robin_on_their_threads() {
        let workers = Workers::start(2, Duration::ZERO, Duration::ZERO).unwrap();
        assert_eq!(workers.threads(), 2);
        let names = echo_threads(&workers, 4).await;
        assert_eq!(names, ["embercache-io-0", "embercache-io-1", "embercache-io-0", "embercache-io-1"]);
    }

    #[tokio::test]
    async fn without_threads_the_current_runtime_serves() {
        let workers = Workers::start(0, Duration::ZERO, Duration::ZERO).unwrap();
        let names = echo_threads(&workers, 2).await;
        assert!(names.iter().all(|n| !n.starts_with("embercache-io")), "{names:?}");
    }
}
