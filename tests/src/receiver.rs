//! A practice's webhook endpoint, as the tests run it: on 127.0.0.1, it checks each request's
//! Standard Webhooks signature, answers 503 to the first few (an outage), and keeps what it took.

use std::sync::{Arc, Mutex};

use portal_feed::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the endpoint saw.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub body: serde_json::Value,
    /// What it answered.
    pub status: u16,
    pub signature_ok: bool,
}

pub struct Receiver {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Listens on a free port of 127.0.0.1; the first `outage` requests get a 503.
    pub async fn start(secret: Secret, outage: usize) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}/portal-events", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let log = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let Some((headers, body)) = read_request(&mut socket).await else { continue };
                let header = |name: &str| {
                    headers
                        .lines()
                        .find_map(|l| {
                            l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned())
                        })
                        .unwrap_or_default()
                };
                let id = header("webhook-id");
                let now = chrono::Utc::now().timestamp();
                let signature_ok = secret.verify(&id, &header("webhook-timestamp"), &header("webhook-signature"), &body, now).is_ok();
                let status = {
                    let mut log = log.lock().unwrap();
                    let status = if log.len() < outage {
                        503
                    } else if signature_ok {
                        204
                    } else {
                        400
                    };
                    log.push(Received { id, body: serde_json::from_slice(&body).unwrap_or_default(), status, signature_ok });
                    status
                };
                let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        Receiver { url, seen, task }
    }

    /// The events it took (answered 2xx), in the order it took them.
    pub fn taken(&self) -> Vec<Received> {
        self.seen.lock().unwrap().iter().filter(|r| (200..300).contains(&r.status)).cloned().collect()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let length: usize = headers
                .lines()
                .find_map(|l| {
                    l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().to_owned())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = buffer[end + 4..].to_vec();
            while body.len() < length {
                let n = socket.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                body.extend_from_slice(&chunk[..n]);
            }
            return Some((headers, body));
        }
    }
}
