//! The normalised API model every other crate reads: one shape for Swagger 2.0 and OpenAPI 3.x.
//!
//! Schemas stay JSON values (JSON Schema as written in the document). Every `$ref` inside a
//! schema is a local pointer (`#/...`) into [`Api::root`], the bundled document: references
//! to other files and URLs are rewritten by the loader so that consumers never do I/O.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

/// Which family of description a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SpecVersion {
    /// Swagger 2.0.
    Swagger2,
    /// OpenAPI 3.0.x.
    OpenApi30,
    /// OpenAPI 3.1.x.
    OpenApi31,
}

impl SpecVersion {
    /// Whether schemas follow the OpenAPI 3.0 / Swagger dialect (`nullable`, boolean
    /// `exclusiveMinimum`) rather than JSON Schema 2020-12 (3.1).
    pub fn is_legacy_schema_dialect(self) -> bool {
        !matches!(self, SpecVersion::OpenApi31)
    }
}

/// A loaded, normalised API description.
#[derive(Debug, Clone)]
pub struct Api {
    /// The file path or URL the description was read from.
    pub source: String,
    pub version: SpecVersion,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub api_version: String,
    /// Path prefixes taken from OAS3 `servers` (root level) or Swagger `basePath`, without a
    /// trailing slash, deduplicated, in declaration order. Empty when the document declares
    /// none or only `/`.
    pub base_paths: Vec<String>,
    /// Every (path, method) pair under `paths`, in document order.
    pub operations: Vec<Operation>,
    /// Security schemes by name (`components/securitySchemes` or `securityDefinitions`).
    pub security_schemes: Vec<(String, SecurityScheme)>,
    /// The document-wide security requirement alternatives (root `security`).
    pub security: Vec<SecurityRequirement>,
    /// The bundled document: the root description with every external document it references
    /// placed under `/x-mockloop-bundled/<n>`. All schema `$ref`s point into it.
    pub root: Arc<Value>,
    /// Problems that still allow serving (an unresolvable example, an unknown format, ...).
    pub warnings: Vec<Diagnostic>,
}

/// HTTP methods an operation can be declared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Put,
    Post,
    Delete,
    Options,
    Head,
    Patch,
    Trace,
}

impl Method {
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Patch,
        Method::Trace,
    ];

    /// The lowercase key used in a Path Item object.
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Options => "options",
            Method::Head => "head",
            Method::Patch => "patch",
            Method::Trace => "trace",
        }
    }

    /// The uppercase token used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
        }
    }

    /// Parses a wire token (case-sensitive, as HTTP methods are).
    pub fn from_wire(token: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == token)
    }
}

/// One operation: a method on a path template.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: Method,
    /// The path template as it will be routed, e.g. `/users/{id}`. Fragments (`#...`) and
    /// query strings (`?...`) that some documents put in path keys are removed here; the key
    /// as written is in [`Operation::pointer`].
    pub path: String,
    pub operation_id: Option<String>,
    pub summary: Option<String>,
    /// JSON pointer to the operation object in the root document, e.g. `/paths/~1pets/get`.
    pub pointer: String,
    /// Path-level and operation-level parameters merged (operation wins on name + location),
    /// `$ref`s resolved. Swagger 2.0 body and formData parameters are turned into
    /// [`Operation::request_body`] instead.
    pub parameters: Vec<Parameter>,
    pub request_body: Option<RequestBody>,
    /// Responses in declaration order.
    pub responses: Vec<Response>,
    /// Effective security requirement alternatives: the operation's own `security` if
    /// declared, else the document's. An empty list means no security.
    pub security: Vec<SecurityRequirement>,
    /// OAS 3 callbacks declared on the operation.
    pub callbacks: Vec<Callback>,
    pub deprecated: bool,
    pub tags: Vec<String>,
}

/// Where a parameter lives in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamLocation {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        }
    }
}

/// Serialisation style of a parameter (OAS 3 `style`; Swagger 2.0 `collectionFormat` is
/// mapped onto these: csv -> form/simple without explode, ssv -> spaceDelimited,
/// pipes -> pipeDelimited, multi -> form with explode, tsv -> [`ParamStyle::TabDelimited`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ParamStyle {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
    /// Swagger 2.0 `collectionFormat: tsv` only.
    TabDelimited,
}

/// A parameter with its effective style and explode (defaults applied).
#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
    pub style: ParamStyle,
    pub explode: bool,
    pub allow_empty_value: bool,
    pub allow_reserved: bool,
    /// The schema (for Swagger 2.0 non-body parameters, built from `type`, `format`,
    /// `items`, `enum`, bounds ... of the parameter). For OAS 3 `content` parameters this is
    /// the schema of the single media type and [`Parameter::content_type`] is set.
    pub schema: Option<Value>,
    /// Set when the parameter is described with `content` instead of `schema`.
    pub content_type: Option<String>,
    pub example: Option<Value>,
    pub deprecated: bool,
}

/// A request body.
#[derive(Debug, Clone)]
pub struct RequestBody {
    pub required: bool,
    pub content: Vec<MediaType>,
}

/// The key under `responses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StatusKey {
    /// An exact code such as 200.
    Code(u16),
    /// A range such as `4XX` (the digit is the class, 1-5).
    Range(u8),
    /// `default`.
    Default,
}

impl StatusKey {
    /// Whether this key covers `status`.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusKey::Code(c) => c == status,
            StatusKey::Range(class) => status / 100 == u16::from(class),
            StatusKey::Default => true,
        }
    }
}

impl std::fmt::Display for StatusKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusKey::Code(c) => write!(f, "{c}"),
            StatusKey::Range(class) => write!(f, "{class}XX"),
            StatusKey::Default => f.write_str("default"),
        }
    }
}

/// One declared response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusKey,
    pub description: String,
    /// Declared response headers (`Content-Type` excluded, as the specs require).
    pub headers: Vec<Header>,
    /// Media types in declaration order (Swagger 2.0: `produces` x the response `schema`,
    /// with `examples` keyed by media type).
    pub content: Vec<MediaType>,
}

/// A declared response header.
#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    pub required: bool,
    pub schema: Option<Value>,
    pub example: Option<Value>,
}

/// A media type entry of a body.
#[derive(Debug, Clone)]
pub struct MediaType {
    /// As written, e.g. `application/json` or `application/vnd.api+json; charset=utf-8`.
    pub media_type: String,
    pub schema: Option<Value>,
    /// The media type's `example`, resolved.
    pub example: Option<Value>,
    /// Named `examples`, resolved to their `value`s, in declaration order. Entries whose
    /// value cannot be resolved are left out (and reported as warnings).
    pub examples: Vec<(String, Value)>,
    /// `encoding` entries for form and multipart bodies: property name to settings.
    pub encoding: Vec<(String, Encoding)>,
}

/// Per-property encoding of a form or multipart body.
#[derive(Debug, Clone, Default)]
pub struct Encoding {
    pub content_type: Option<String>,
    pub style: Option<ParamStyle>,
    pub explode: Option<bool>,
}

/// A security scheme.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SecurityScheme {
    ApiKey {
        name: String,
        location: ParamLocation,
    },
    /// `http` with a scheme such as basic, bearer, digest or negotiate (lowercased).
    Http {
        scheme: String,
    },
    OAuth2,
    OpenIdConnect,
    MutualTls,
}

/// One alternative of a security requirement: every named scheme must be satisfied.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SecurityRequirement {
    /// Scheme names with their scopes. Names may dangle (not defined); consumers ignore those.
    pub schemes: Vec<(String, Vec<String>)>,
}

/// An OAS 3 callback: requests the mock may send after the operation responds.
#[derive(Debug, Clone)]
pub struct Callback {
    pub name: String,
    /// The runtime expression key, e.g. `{$request.query.queryUrl}`.
    pub expression: String,
    pub method: Method,
    pub request_body: Option<RequestBody>,
}

/// A problem found in a description, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file path or URL of the document the problem is in.
    pub file: String,
    /// JSON pointer inside that document (empty for the whole document).
    pub pointer: String,
    /// 1-based line, where it could be determined.
    pub line: Option<u32>,
    /// 1-based column (in characters) on [`Diagnostic::line`], where it could be determined.
    /// Mostly useful for minified one-line JSON.
    pub column: Option<u32>,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if !self.pointer.is_empty() {
            write!(f, " at #{}", self.pointer)?;
        }
        write!(f, ": {}", self.message)
    }
}
