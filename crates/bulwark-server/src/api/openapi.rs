//! The OpenAPI 3.1 document, generated from the route table so that it lists exactly the
//! endpoints the router serves, with the permission each needs.

use axum::Json;
use serde_json::{Map, Value, json};

use super::{Access, ROUTES};

pub fn build() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let mut op = json!({
            "summary": r.summary,
            "parameters": params,
            "responses": {
                "200": { "description": "OK" },
                "400": { "$ref": "#/components/responses/Error" },
                "401": { "$ref": "#/components/responses/Error" },
                "403": { "$ref": "#/components/responses/Error" },
                "404": { "$ref": "#/components/responses/Error" },
                "409": { "$ref": "#/components/responses/Error" },
                "422": { "$ref": "#/components/responses/Error" },
            },
        });
        match r.access {
            Access::Public => op["security"] = json!([]),
            Access::Authenticated => {}
            Access::Agent => op["security"] = json!([{ "agentSignature": [] }]),
            Access::Needs(p) => op["x-permission"] = json!(p.as_str()),
        }
        if matches!(r.method, "POST" | "PUT" | "PATCH") {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[r.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Bulwark API", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "security": [{ "bearer": [] }, { "session": [] }],
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
                "agentSignature": { "type": "apiKey", "in": "header", "name": bulwark_protocol::signing::SIGNATURE_HEADER,
                    "description": "Ed25519 signature by the enrolled agent key over method, path, query, body digest, timestamp, nonce and agent id (see bulwark-protocol)" },
            },
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                            "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": "string" }
                        } } }
                    } } }
                }
            }
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
