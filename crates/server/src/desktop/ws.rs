//! `GET /api/desktop/ws`: one agent's socket. Authenticated by the
//! `Session` extractor; a request with an `Origin` header must come from
//! this server's own origin (cross-site WebSocket hijacking: a browser
//! sends the cookie to any page's WebSocket). The first message is `hello`;
//! after it, what the hub queues. The client may send `{"type":"ping"}`.

use super::hub::Message;
use crate::auth::Session;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::ws::{self, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use dialtone_calls::AgentId;
use serde_json::{Value as Json_, json};

/// Largest message a client may send (pings are tiny).
const MAX_CLIENT_MESSAGE: usize = 4096;

/// Whether `origin` is this server's own (scheme and host as the request reached it).
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    match headers.get("origin") {
        None => true,
        Some(o) => o.to_str().is_ok_and(|o| o.eq_ignore_ascii_case(&state.instance_url(headers))),
    }
}

pub async fn connect(State(state): State<AppState>, headers: HeaderMap, s: Session, upgrade: WebSocketUpgrade) -> Result<Response, ApiError> {
    if !same_origin(&state, &headers) {
        tracing::warn!("refused a desktop socket from another origin");
        return Err(ApiError::new("INVALID_ORIGIN", "this WebSocket opens only from this server's own pages"));
    }
    let agent = AgentId::new(s.user_id.clone()).map_err(ApiError::ours)?;
    Ok(upgrade.max_message_size(MAX_CLIENT_MESSAGE).on_upgrade(move |socket| serve(state, agent, socket)))
}

async fn serve(state: AppState, agent: AgentId, mut socket: WebSocket) {
    let mut conn = state.hub.connect(&agent);
    let hello = match hello(&state, &agent, &conn).await {
        Ok(h) => h,
        Err(e) => {
            tracing::warn!(code = e.code, "building a desktop hello");
            state.hub.disconnect(&agent, conn.id);
            let _ = socket.send(ws::Message::Close(Some(ws::CloseFrame { code: 1011, reason: "try again".into() }))).await;
            return;
        }
    };
    if socket.send(ws::Message::Text(hello.to_string().into())).await.is_err() {
        state.hub.disconnect(&agent, conn.id);
        return;
    }
    loop {
        tokio::select! {
            out = conn.rx.recv() => match out {
                Some(m) => {
                    if send(&mut socket, m).await.is_err() {
                        break;
                    }
                }
                None => {
                    // The hub dropped us: too slow, or shutting down.
                    let _ = socket.send(ws::Message::Close(Some(ws::CloseFrame { code: 1013, reason: "too slow; reconnect".into() }))).await;
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(ws::Message::Text(t))) => {
                    let ping = serde_json::from_str::<Json_>(t.as_str()).is_ok_and(|v| v["type"] == "ping");
                    let reply = if ping { json!({"type": "pong"}) } else { json!({"type": "error", "errorCode": "JSON_PARSER_ERROR", "message": "the socket takes only {\"type\":\"ping\"}; commands go over REST"}) };
                    if socket.send(ws::Message::Text(reply.to_string().into())).await.is_err() {
                        break;
                    }
                }
                Some(Ok(ws::Message::Ping(_) | ws::Message::Pong(_))) => {}
                Some(Ok(ws::Message::Binary(_))) | Some(Ok(ws::Message::Close(_))) | Some(Err(_)) | None => break,
            },
        }
    }
    state.hub.disconnect(&agent, conn.id);
}

async fn send(socket: &mut WebSocket, m: Message) -> Result<(), axum::Error> {
    socket.send(ws::Message::Text(m.as_ref().into())).await
}

async fn hello(state: &AppState, agent: &AgentId, conn: &super::hub::Connected) -> Result<Json_, ApiError> {
    let store = state.store.as_ref();
    let live: std::collections::HashSet<&str> = conn.calls.iter().chain(&conn.wrap_ups).filter_map(|c| c["key"].as_str()).collect();
    let recent: Vec<Json_> = super::recent(store, agent.id()).await?.into_iter().filter(|c| c["key"].as_str().is_none_or(|k| !live.contains(k))).collect();
    Ok(json!({
        "type": "hello",
        "agent": super::hub::agent_json(store, agent).await?,
        "calls": conn.calls,
        "wrapUps": conn.wrap_ups,
        "recent": recent,
    }))
}
