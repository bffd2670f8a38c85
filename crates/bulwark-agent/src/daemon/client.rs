//! The agent's HTTP client: enrollment with the organization secret, then every request
//! signed with the agent's key. Failures are sorted by what the agent should do about them.

use std::time::Duration;

use bulwark_protocol::AgentKey;
use bulwark_protocol::signing::RequestParts;
use bulwark_protocol::wire::{ENROLL_PATH, EnrollRequest, EnrollResponse};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The server could not be reached or failed (network, timeout, 5xx): try again later.
    #[error("the server is unreachable: {0}")]
    Unreachable(String),
    /// The server refused the request (4xx): sending it again will not help.
    #[error("the server refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    /// The server does not know this agent (removed, or the database was reset).
    #[error("the server does not know this agent: {0}")]
    NotEnrolled(String),
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("the HTTP client builds with rustls")
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    agent_id: String,
    key: AgentKey,
}

/// The body of a successful answer, or the error it stands for.
async fn success_body(
    res: Result<reqwest::Response, reqwest::Error>,
) -> Result<(u16, bytes::Bytes), CallError> {
    let res = res.map_err(|e| CallError::Unreachable(e.to_string()))?;
    let status = res.status();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| CallError::Unreachable(e.to_string()))?;
    if status.is_success() {
        return Ok((status.as_u16(), bytes));
    }
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    Err(match status.as_u16() {
        401 if message.contains("not enrolled") => CallError::NotEnrolled(message),
        s @ 400..=499 => CallError::Refused { status: s, message },
        s => CallError::Unreachable(format!("{s}: {message}")),
    })
}

async fn answer<R: DeserializeOwned>(
    res: Result<reqwest::Response, reqwest::Error>,
) -> Result<R, CallError> {
    let (status, bytes) = success_body(res).await?;
    serde_json::from_slice(&bytes).map_err(|e| CallError::Refused {
        status,
        message: format!("unreadable answer: {e}"),
    })
}

pub async fn enroll(
    http: &reqwest::Client,
    base: &str,
    req: &EnrollRequest,
) -> Result<EnrollResponse, CallError> {
    answer(
        http.post(format!("{base}{ENROLL_PATH}"))
            .json(req)
            .send()
            .await,
    )
    .await
}

impl Client {
    pub fn new(http: reqwest::Client, base: &str, agent_id: &str, key: AgentKey) -> Self {
        Client {
            http,
            base: base.to_owned(),
            agent_id: agent_id.to_owned(),
            key,
        }
    }

    /// Sends a signed request; `body` is its media type and bytes.
    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let empty = Vec::new();
        let bytes = body.as_ref().map_or(&empty, |(_, b)| b);
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let parts = RequestParts {
            method: method.as_str(),
            path,
            query,
            body: bytes,
        };
        let signed = self.key.sign_request(&self.agent_id, &parts, now());
        let mut req = self
            .http
            .request(method, format!("{}{path_and_query}", self.base));
        for (name, value) in signed.pairs() {
            req = req.header(name, value);
        }
        if let Some((media, bytes)) = body {
            req = req.header("content-type", media).body(bytes);
        }
        req.send().await
    }

    pub async fn call<R: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&impl Serialize>,
    ) -> Result<R, CallError> {
        let body = body.map(|b| {
            (
                "application/json",
                serde_json::to_vec(b).expect("request bodies serialize"),
            )
        });
        answer(self.send(method, path_and_query, body).await).await
    }

    /// A raw upload (`media` e.g. `application/zstd`) with a JSON answer.
    pub async fn upload<R: DeserializeOwned>(
        &self,
        path: &str,
        media: &str,
        bytes: Vec<u8>,
    ) -> Result<R, CallError> {
        answer(self.send(Method::POST, path, Some((media, bytes))).await).await
    }

    /// A raw download.
    pub async fn download(&self, path: &str) -> Result<bytes::Bytes, CallError> {
        Ok(success_body(self.send(Method::GET, path, None).await)
            .await?
            .1)
    }

    pub async fn post<R: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<R, CallError> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn get<R: DeserializeOwned>(&self, path_and_query: &str) -> Result<R, CallError> {
        self.call(Method::GET, path_and_query, None::<&()>).await
    }
}
