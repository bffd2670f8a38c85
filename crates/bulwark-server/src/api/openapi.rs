//! The OpenAPI 3.1 document, generated from the route table so that it lists exactly the
//! endpoints the router serves, with the permission each needs, its query parameters, its
//! request body and its answer. The schemas come from the Rust types themselves (schemars
//! reads their serde attributes), so the document cannot drift from what the server parses
//! and sends.

use axum::Json;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::{Access, ROUTES};

const SCHEMAS: &str = "#/components/schemas/";

/// The query parameters a query type's schema (a `$ref` into `definitions`) describes.
fn parameters(query: &Value, definitions: &Map<String, Value>) -> Vec<Value> {
    let name = query["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix(SCHEMAS))
        .unwrap_or_default();
    let Some(def) = definitions.get(name) else {
        return Vec::new();
    };
    let required: Vec<&str> = def["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    def["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(field, schema)| {
                    json!({
                        "name": field, "in": "query", "required": required.contains(&field.as_str()),
                        "schema": schema,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

pub fn build() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    // Schemas first, so that every definition exists when query parameters are expanded.
    let described: Vec<(Option<Value>, Option<Value>, Value)> = ROUTES
        .iter()
        .map(|r| {
            let mut schema = |f: super::SchemaFn| Value::from(f(&mut generator));
            (
                r.query.map(&mut schema),
                r.body.map(&mut schema),
                schema(r.answer),
            )
        })
        .collect();
    let definitions = generator.take_definitions(true);

    let mut paths = Map::new();
    for (r, (query, body, answer)) in ROUTES.iter().zip(described) {
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if let Some(q) = &query {
            params.extend(parameters(q, &definitions));
        }
        let content = if r.path.ends_with("/export") {
            json!({
                "text/csv": { "schema": { "type": "string", "description": "One row per scan; the columns of ExportRow" } },
                "application/x-ndjson": { "schema": answer },
            })
        } else if r.path.ends_with("/report") {
            json!({
                "text/html": { "schema": { "type": "string", "description": "format=html: a self-contained page" } },
                "application/json": { "schema": answer },
                "application/xml": { "schema": { "type": "string", "description": "format=arf: an ARF 1.1 asset report collection" } },
            })
        } else if r.path.contains("/datastreams/") {
            json!({ "application/xml": { "schema": { "type": "string", "description": "The SCAP source data stream" } } })
        } else {
            json_content(answer)
        };
        let mut op = json!({
            "summary": r.summary,
            "parameters": params,
            "responses": {
                "200": { "description": "OK", "content": content },
                "400": { "$ref": "#/components/responses/Error" },
                "401": { "$ref": "#/components/responses/Error" },
                "403": { "$ref": "#/components/responses/Error" },
                "404": { "$ref": "#/components/responses/Error" },
                "409": { "$ref": "#/components/responses/Error" },
                "413": { "$ref": "#/components/responses/Error" },
                "422": { "$ref": "#/components/responses/Error" },
            },
        });
        match r.access {
            Access::Public => op["security"] = json!([]),
            Access::Authenticated => {}
            Access::Agent => op["security"] = json!([{ "agentSignature": [] }]),
            Access::Signed => {
                op["security"] = json!([]);
                op["x-signature"] = json!(
                    "hex HMAC-SHA512 of the raw body under the organization's Terraform secret, in X-TFC-Task-Signature (run tasks) or X-TFE-Notification-Signature (notifications)"
                );
            }
            Access::Needs(p) => op["x-permission"] = json!(p.as_str()),
            Access::AccountWide(p) => {
                op["x-permission"] = json!(p.as_str());
                op["x-account-wide"] = json!(true);
            }
        }
        if let Some(body) = body {
            op["requestBody"] = json!({ "required": true, "content": json_content(body) });
        }
        if let Some(media) = r.upload {
            op["requestBody"] = json!({ "required": true, "content": { media: { "schema": { "type": "string", "contentMediaType": media } } } });
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
            "schemas": definitions,
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
                            "code": { "type": "string" }, "message": { "type": "string" },
                            "field": { "type": "string", "description": "The field of the request the error is about (the first, when several are)" },
                            "errors": { "type": "array", "description": "Every field of the request that is wrong, with what is wrong with it",
                                "items": { "type": "object", "required": ["field", "message"], "properties": {
                                    "field": { "type": "string" }, "message": { "type": "string" } } } }
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
