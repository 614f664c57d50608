//! Accepting connections. `axum::serve` gives hyper no timer, so a
//! connection that sends half a request head, or nothing, is kept forever
//! (issue 10: 300 half-open connections stayed 95 s). This loop serves
//! HTTP/1.1 with hyper's header-read timeout, which also closes a keep-alive
//! connection idle for that long between requests. Browsers never speak
//! HTTP/2 without TLS, and TLS ends at a proxy in front of us, so HTTP/1.1
//! is all that is served. The time from a request's head to its answer is
//! bounded by the router's timeout layer (`http::router`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting and lets the requests under way (a download's body too) finish
/// for up to `grace`; connections still open then are cut.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    // Set once, to true: `changed()` is the stop signal.
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    // Every connection task holds a receiver: `closed()` waits for them all.
    let (open_tx, open_rx) = watch::channel(());
    let mut stopping = stop_rx.clone();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait, do not spin.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopping.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let (app, stop, open) = (app.clone(), stop_rx.clone(), open_rx.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, app, header_timeout, stop).await;
            drop(open);
        });
    }
    drop((listener, open_rx));
    if tokio::time::timeout(grace, open_tx.closed()).await.is_err() {
        tracing::warn!(
            open = open_tx.receiver_count(),
            "shutdown: connections still open after the grace period were cut"
        );
    }
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    // The peer address feeds the login rate limit (`ConnectInfo`).
    let service = app.map_request(move |mut request: axum::http::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.map(axum::body::Body::new)
    });
    let service = TowerToHyperService::new(service.map_err(|never: Infallible| match never {}));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
    let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        _ = stop.changed() => {}
    }
    // Shutting down: finish the request under way, then close.
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}
