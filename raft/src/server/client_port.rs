//! The client port of a node: framed `ClientRequestFrame`s in, each handed to the driver task
//! with a one-shot reply channel, `ClientResponseFrame`s out.

use std::time::Duration;

use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot},
};

use crate::kv::{ClientRequest, ClientRequestFrame, ClientResponse, ClientResponseFrame};
use crate::net::{serve_framed, ListenerHandle, NetError, ServeOptions};

/// One client request on its way to the driver task.
pub struct ClientInput {
    pub request: ClientRequest,
    pub reply: oneshot::Sender<ClientResponse>,
}

/// Serves the client port within the limits of `opts` until the handle is dropped. A request
/// that waits longer than `request_timeout` is answered `Error` (outcome unknown: it may still
/// take effect).
pub fn serve_clients(
    listener: TcpListener,
    to_driver: mpsc::Sender<ClientInput>,
    request_timeout: Duration,
    opts: ServeOptions,
) -> Result<ListenerHandle, NetError> {
    let handler = move |frame: ClientRequestFrame| {
        let to_driver = to_driver.clone();
        async move {
            let response = handle(frame.request, to_driver, request_timeout).await;
            ClientResponseFrame {
                request_id: frame.request_id,
                response,
            }
        }
    };
    serve_framed(listener, handler, opts)
}

async fn handle(
    request: ClientRequest,
    to_driver: mpsc::Sender<ClientInput>,
    request_timeout: Duration,
) -> ClientResponse {
    let (reply, answer) = oneshot::channel();
    if to_driver
        .send(ClientInput { request, reply })
        .await
        .is_err()
    {
        // Never reached the driver: surely not applied.
        return ClientResponse::Busy;
    }
    match tokio::time::timeout(request_timeout, answer).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => {
            ClientResponse::Error("the node stopped before answering; outcome unknown".into())
        }
        Err(_) => ClientResponse::Error(format!(
            "no answer within {request_timeout:?}; outcome unknown (retry with the same sequence)"
        )),
    }
}
