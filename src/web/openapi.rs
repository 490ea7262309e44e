//! The OpenAPI document of /api/v1, generated from the handlers and types themselves.
//!
//! Every API route is registered through `utoipa_actix_web`, which only accepts handlers
//! annotated with `#[utoipa::path]`: a route cannot exist without its entry here. The error
//! responses an operation can give follow from what it takes (see [`ErrorResponses`]), so
//! that no handler repeats them.

use std::sync::OnceLock;

use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::web::error::ErrorBody;

/// Where the API is mounted; paths in the document are relative to it, as its `servers` say.
pub const BASE: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onething API",
        version = "1.0.0",
        description = "One-thing (一件事) bundled government services of a district administrative \
                       service centre. Every error has a machine-readable `code` and a Simplified \
                       Chinese `message`; validation and query errors list the offending fields \
                       in `errors`."
    ),
    servers((url = "/api/v1")),
    components(schemas(ErrorBody, crate::field_error::FieldError))
)]
struct ApiDoc;

/// The document, built once from the same route registration the server uses.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let (_, mut api) = actix_web::App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(super::configure)
            .split_for_parts();
        api.paths.paths = std::mem::take(&mut api.paths.paths)
            .into_iter()
            .map(|(path, item)| (relative(&path), item))
            .collect();
        ErrorResponses.modify(&mut api);
        api.to_pretty_json()
            .expect("the OpenAPI document is plain data and always serializes")
    })
}

fn relative(path: &str) -> String {
    path.strip_prefix(BASE).unwrap_or(path).to_owned()
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The `Error` response and the `bearer` scheme, and on each operation the error statuses
/// its inputs can produce: 401/403 when it needs a login, 404 when it names a record in its
/// path, 400/422 when it reads a body or a query, 412/428 when it needs `If-Match`, and 500.
struct ErrorResponses;

impl ErrorResponses {
    fn add(op: &mut Operation) {
        let params = op.parameters.as_deref().unwrap_or_default();
        let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
        let if_match = params.iter().any(|p| p.name == "If-Match");
        let mut statuses = vec!["500"];
        if op.security.is_some() {
            statuses.extend(["401", "403"]);
        }
        if has(ParameterIn::Path) {
            statuses.push("404");
        }
        if has(ParameterIn::Query) || op.request_body.is_some() {
            statuses.push("400");
        }
        if op.request_body.is_some() {
            statuses.push("422");
        }
        if if_match {
            statuses.extend(["412", "428"]);
        }
        for response in op.responses.responses.values_mut() {
            if let RefOr::T(r) = response {
                if r.description.is_empty() {
                    r.description = "Success".to_owned();
                }
            }
        }
        for status in statuses {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Error")));
        }
    }
}

impl Modify for ErrorResponses {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        for item in api.paths.paths.values_mut() {
            operations(item).for_each(Self::add);
        }
        let components = api.components.get_or_insert_with(Default::default);
        components.responses.insert(
            "Error".to_owned(),
            RefOr::T(
                ResponseBuilder::new()
                    .description("An error: a machine-readable `code` and a Chinese `message`")
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Error")))
                            .build(),
                    )
                    .build(),
            ),
        );
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".to_owned());
        bearer.description = Some(
            "The token from POST /auth/login. Browsers may use the HttpOnly session cookie \
             instead; state-changing API calls authenticated by the cookie must send the CSRF \
             token in X-CSRF-Token."
                .to_owned(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}
