//! Connections the sandbox can cut without answering, as a request lost in transit looks to a client.
//!
//! axum serves whatever a [`Listener`] hands it, so the sandbox wraps each accepted socket in a
//! [`CuttableStream`] and gives the request handlers a [`Connection`] handle to it. When a
//! handler decides to drop a request, the handle marks the socket cut: the response that hyper
//! then tries to write fails, hyper closes the connection, and the socket (with `SO_LINGER` 0)
//! is reset. The client has sent its whole request and gets no status line at all.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A loopback listener whose connections can be cut by the handlers.
pub(crate) struct SandboxListener {
    inner: TcpListener,
}

impl SandboxListener {
    pub(crate) fn new(inner: TcpListener) -> SandboxListener {
        SandboxListener { inner }
    }
}

impl Listener for SandboxListener {
    type Io = CuttableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CuttableStream, SocketAddr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    // Small answers go out at once; a failure here only costs latency.
                    let _ = stream.set_nodelay(true);
                    return (CuttableStream::new(stream), addr);
                }
                Err(error) => {
                    // A client that gave up before we accepted is no reason to stop; anything
                    // else (out of file descriptors) gets a pause instead of a busy loop.
                    let transient = matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionRefused
                    );
                    if !transient {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails every write once it has been cut.
pub(crate) struct CuttableStream {
    stream: TcpStream,
    cut: Arc<AtomicBool>,
}

impl CuttableStream {
    fn new(stream: TcpStream) -> CuttableStream {
        CuttableStream { stream, cut: Arc::new(AtomicBool::new(false)) }
    }

    /// If the connection was cut: arrange a reset on close and say so as an error.
    fn check_cut(&self) -> io::Result<()> {
        if self.cut.load(Ordering::SeqCst) {
            // A zero linger makes the close a reset (RST) rather than an orderly FIN, as when a
            // load balancer or a crashed server drops the connection; it does not block.
            let _ = self.stream.set_zero_linger();
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the sandbox dropped this connection on purpose (drop-rate fault)",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for CuttableStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(error) = this.check_cut() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(error) = this.check_cut() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(error) = this.check_cut() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(error) = this.check_cut() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(error) = this.check_cut() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

/// The handlers' handle on the connection a request came in on (an axum `ConnectInfo`).
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    cut: Arc<AtomicBool>,
}

impl Connection {
    /// Make the connection end without the answer that is about to be written.
    pub(crate) fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, SandboxListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, SandboxListener>) -> Connection {
        Connection { cut: Arc::clone(&stream.io().cut) }
    }
}
